/**
 * herald signs with a few lines of node:crypto; the official library (HMAC)
 * and node:crypto's own Ed25519 verify are the judges.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { destinationSigningKeys, parseDestinationSigningKeys, signStandardWebhook } from '../../src/channels/standard-webhooks.js';
import {
  generateEd25519KeyPair,
  generateHmacSecret,
  parseSigningKey,
  SigningKeyError,
  signingKeySecrets,
  viewSigningKey,
} from '../../src/core/signing-keys.js';
import { WEBHOOK_SECRET } from './helpers.js';

const now = () => Math.floor(Date.now() / 1000);
const headersFor = (id: string, timestamp: number, signature: string) => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signature,
});

/** Ed25519 verify of one `v1a,<base64>` signature with a `whpk_` key, straight on node:crypto. */
function ed25519Verifies(publicKey: string, content: string, signature: string): boolean {
  const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  return verify(null, Buffer.from(content), key, Buffer.from(signature.slice('v1a,'.length), 'base64'));
}

describe('signStandardWebhook', () => {
  const bodies = ['{"id":"evt_1"}', '{"name":"Zoë 🦉","note":"line\\nbreak"}', ''];

  for (const body of bodies) {
    it(`matches the reference library for ${JSON.stringify(body)}`, () => {
      const timestamp = now();
      const signature = signStandardWebhook([parseSigningKey(WEBHOOK_SECRET)], 'msg_1', timestamp, body);
      const reference = new Webhook(WEBHOOK_SECRET);
      assert.equal(signature, reference.sign('msg_1', new Date(timestamp * 1000), body));
      reference.verify(body, headersFor('msg_1', timestamp, signature)); // throws if it does not verify
    });
  }

  it("signs once per key, space-separated in the keys' order, so a receiver holding any one key verifies", () => {
    const [fresh, old] = [generateHmacSecret(), WEBHOOK_SECRET];
    const pair = generateEd25519KeyPair();
    const timestamp = now();
    const body = '{"id":"evt_1"}';
    const header = signStandardWebhook([fresh, old, pair.secretKey].map(parseSigningKey), 'msg_1', timestamp, body);
    const signatures = header.split(' ');
    assert.deepEqual(
      signatures.map((s) => s.split(',')[0]),
      ['v1', 'v1', 'v1a'],
    );
    assert.equal(signatures[0], new Webhook(fresh).sign('msg_1', new Date(timestamp * 1000), body));
    assert.equal(signatures[1], new Webhook(old).sign('msg_1', new Date(timestamp * 1000), body));
    for (const secret of [fresh, old]) new Webhook(secret).verify(body, headersFor('msg_1', timestamp, header));
    assert.ok(ed25519Verifies(pair.publicKey, `msg_1.${timestamp}.${body}`, signatures[2]!));
    assert.ok(!ed25519Verifies(pair.publicKey, `msg_1.${timestamp}.${body} `, signatures[2]!), 'a changed body does not verify');
    assert.throws(() => new Webhook(generateHmacSecret()).verify(body, headersFor('msg_1', timestamp, header)), /No matching signature/);
  });
});

describe('signing keys', () => {
  it('keys the HMAC with the decoded bytes of the secret, not its text', () => {
    assert.deepEqual(parseSigningKey(WEBHOOK_SECRET), { scheme: 'v1', hmacKey: Buffer.from(WEBHOOK_SECRET.slice('whsec_'.length), 'base64') });
  });

  it('generates Standard Webhooks keys: whsec_ of 32 bytes; whsk_ of seed and public key, whpk_ of the public key', () => {
    const secret = generateHmacSecret();
    assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    const pair = generateEd25519KeyPair();
    const secretBytes = Buffer.from(pair.secretKey.slice('whsk_'.length), 'base64');
    const publicBytes = Buffer.from(pair.publicKey.slice('whpk_'.length), 'base64');
    assert.match(pair.secretKey, /^whsk_[A-Za-z0-9+/]{86}==$/);
    assert.equal(secretBytes.length, 64);
    assert.equal(publicBytes.length, 32);
    assert.deepEqual(secretBytes.subarray(32), publicBytes, 'the secret key ends with its public key, as libsodium writes it');
    assert.deepEqual(viewSigningKey(parseSigningKey(pair.secretKey)), { scheme: 'v1a', algorithm: 'Ed25519', publicKey: pair.publicKey });
    assert.deepEqual(viewSigningKey(parseSigningKey(secret)), { scheme: 'v1', algorithm: 'HMAC-SHA256' });
    assert.notEqual(generateEd25519KeyPair().secretKey, pair.secretKey);
  });

  it('refuses malformed keys, and a public key given to sign with, without repeating them', () => {
    const pair = generateEd25519KeyPair();
    const other = generateEd25519KeyPair();
    const bytes = (key: string) => Buffer.from(key.slice(5), 'base64');
    const cases: Array<[string, RegExp]> = [
      ['c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0', /"whsec_\.\.\." \(HMAC\) or "whsk_\.\.\." \(Ed25519\)/],
      [`whsec_${Buffer.alloc(8).toString('base64')}`, /24 to 64 random bytes/],
      [`whsec_${Buffer.alloc(65).toString('base64')}`, /24 to 64 random bytes/],
      ['whsec_not base64 at all!!!!!!!!!!!!!!!!!!!!', /24 to 64 random bytes/],
      [`whsk_${bytes(pair.secretKey).subarray(0, 32).toString('base64')}`, /64-byte Ed25519 secret key/],
      [`whsk_${Buffer.concat([bytes(pair.secretKey).subarray(0, 32), bytes(other.publicKey)]).toString('base64')}`, /second half is not the public key/],
      [pair.publicKey, /public key \("whpk_"\), which cannot sign/],
    ];
    for (const [key, message] of cases) {
      assert.throws(
        () => parseSigningKey(key),
        (error: Error) => {
          assert.ok(error instanceof SigningKeyError);
          assert.match(error.message, message);
          for (const secret of signingKeySecrets([key])) assert.ok(!error.message.includes(secret), `the message repeats the key: ${error.message}`);
          return true;
        },
      );
    }
  });

  it('reads a destination\'s "secrets", or its one "secret"', () => {
    const pair = generateEd25519KeyPair();
    assert.deepEqual(destinationSigningKeys({ secrets: [pair.secretKey, WEBHOOK_SECRET] }), [pair.secretKey, WEBHOOK_SECRET]);
    assert.deepEqual(destinationSigningKeys({ secret: WEBHOOK_SECRET }), [WEBHOOK_SECRET]);
    assert.deepEqual(
      parseDestinationSigningKeys({ secrets: [pair.secretKey, WEBHOOK_SECRET] }).map((key) => key.scheme),
      ['v1a', 'v1'],
    );
    assert.throws(() => parseDestinationSigningKeys({}), SigningKeyError);
  });
});
