/**
 * The scrubber on its own: every spelling a receiver may print a secret in is
 * replaced, and nothing else is touched. The channel tests check the same
 * against real receivers that print secrets back.
 */
import assert from 'node:assert/strict';
import { headerSecrets, urlSecrets } from '../../src/channels/destination-secrets.js';
import { SecretScrubber } from '../../src/channels/secret-scrubber.js';

const SECRET = 'k3y/With+Sp ce=&';
const base64At = (offset: number, text: string) => Buffer.concat([Buffer.alloc(offset, 'a'), Buffer.from(text)]).toString('base64');

describe('SecretScrubber', () => {
  const scrubber = new SecretScrubber([SECRET]);
  const spellings: Array<[string, string]> = [
    ['verbatim', SECRET],
    ['percent-encoded', encodeURIComponent(SECRET)],
    ['percent-encoded, lower-case hex', encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['form-encoded (+ for a space)', new URLSearchParams({ k: SECRET }).toString().slice(2)],
    ['base64', Buffer.from(SECRET).toString('base64')],
    ['base64url', Buffer.from(SECRET).toString('base64url')],
  ];
  for (const [how, spelling] of spellings) {
    it(`replaces the secret written ${how}`, () => {
      assert.equal(scrubber.scrub(`<${spelling}>`), '<[redacted]>');
    });
  }

  for (const offset of [1, 2, 3, 4]) {
    it(`replaces the secret inside base64 after ${offset} other bytes, leaving under 2 characters at each edge`, () => {
      const text = base64At(offset, `${SECRET}zz`);
      const scrubbed = scrubber.scrub(text);
      assert.match(scrubbed, /^[A-Za-z0-9+/=]*\[redacted\][A-Za-z0-9+/=]*$/);
      const [before, after] = scrubbed.split('[redacted]') as [string, string];
      assert.ok(before.length <= Math.ceil((offset * 8) / 6) + 1 && after.length <= 6, scrubbed);
    });
  }

  it("replaces a secret cut off at the end of an answer's head, not in the middle of a message", () => {
    assert.equal(scrubber.scrubHead(`key ${SECRET.slice(0, 6)}`), 'key [redacted]');
    assert.equal(scrubber.scrub(`key ${SECRET.slice(0, 6)}`), `key ${SECRET.slice(0, 6)}`);
  });

  it('ignores secrets shorter than 4 characters and leaves other text alone', () => {
    const short = new SecretScrubber(['abc', '']);
    assert.equal(short.scrub('abc abcd'), 'abc abcd');
    assert.equal(scrubber.scrub('nothing secret here: 401 invalid_token'), 'nothing secret here: 401 invalid_token');
  });
});

describe('destination secrets', () => {
  it('takes query values, userinfo and path segments of a URL as asked', () => {
    const url = 'https://user:p%40ss@hooks.example.com/services/T0AB/B0CD/tokenXYZ?key=abc%2Fdef&v=2';
    const slack = urlSecrets(url, { pathSegments: 'all', publicSegments: ['services'], queryValues: true });
    for (const part of ['user', 'p%40ss', 'T0AB', 'B0CD', 'tokenXYZ', 'abc/def', 'abc%2Fdef']) assert.ok(slack.includes(part), part);
    assert.ok(!slack.includes('services'));
    const smtp = urlSecrets(url, { pathSegments: 'none', queryValues: false });
    assert.ok(!smtp.includes('tokenXYZ') && !smtp.includes('abc/def') && smtp.includes('p%40ss'));
    const webhook = urlSecrets('https://crm.example.com/hooks/0123456789abcdefXYZ', { pathSegments: 'long', queryValues: true });
    assert.ok(webhook.includes('0123456789abcdefXYZ') && !webhook.includes('hooks'));
  });

  it('takes header values, the credentials after a scheme, and Basic credentials decoded', () => {
    const secrets = headerSecrets({ authorization: `Basic ${Buffer.from('crm:s3cret-pw').toString('base64')}`, 'x-api-key': 'Bearer tok-123456' });
    for (const part of ['crm:s3cret-pw', 'crm', 's3cret-pw', 'tok-123456']) assert.ok(secrets.includes(part), part);
    assert.ok(!secrets.includes('Bearer') && !secrets.includes('Basic'));
  });
});
