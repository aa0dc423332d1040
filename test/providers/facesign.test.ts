/**
 * FaceSign (providers.md §1): `X-FaceSign-Signature: t=<unix s>,v1=<hex>`,
 * v1 = hex HMAC-SHA256(secret, "<t>.<rawBody>"), tolerance 300 s, any v1 may match.
 */
import assert from 'node:assert/strict';
import type { RejectionReason } from '../../src/core/errors.js';
import type { Category, Outcome } from '../../src/core/event.js';
import { facesign } from '../../src/providers/facesign.js';
import { loadSample, sampleTypes } from '../../src/providers/samples.js';
import {
  NOW_MS,
  NOW_S,
  OLD_SECRET,
  RFC3339,
  SECRET,
  TOLERANCE_MS,
  assertRejected,
  assertSchemaInvalid,
  assertSchemaValid,
  hmac,
  oneByteChanged,
  rawBody,
  request,
  sourceFor,
  variant,
} from './helpers.js';

const source = sourceFor('facesign');
const body = rawBody(loadSample('facesign', 'session.status'));

/** v1 for `body` signed at `t` with `secret`, straight from the spec. */
function v1(secret: string, t: number | string, signed: Buffer = body): string {
  return hmac(secret, Buffer.concat([Buffer.from(`${t}.`), signed])).toString('hex');
}

/** The headers FaceSign sends, computed independently of the adapter. */
function facesignHeaders(secret = SECRET, t = NOW_S, signed: Buffer = body): Record<string, string> {
  return { 'X-FaceSign-Timestamp': String(t), 'X-FaceSign-Signature': `t=${t},v1=${v1(secret, t, signed)}` };
}

const verify = (headers: Record<string, string | string[] | undefined>, raw: Buffer = body, src = source, now = NOW_MS) =>
  facesign.verify(request(raw, headers), src, now);

describe('facesign adapter', () => {
  describe('verify: accepted signatures', () => {
    it('accepts a signature computed from the spec over the raw bytes', () => {
      verify(facesignHeaders());
    });

    it('accepts what its own sign() produces (round trip)', () => {
      const headers = facesign.sign(body, source, NOW_MS);
      verify(headers);
      assert.equal(headers['X-FaceSign-Timestamp'], String(NOW_S));
      assert.match(headers['X-FaceSign-Signature'] ?? '', new RegExp(`^t=${NOW_S},v1=[0-9a-f]{64}$`));
    });

    it('signs exactly what the spec says (sign() agrees with an independent HMAC)', () => {
      assert.deepEqual(facesign.sign(body, source, NOW_MS), facesignHeaders());
    });

    it('accepts a request without X-FaceSign-Timestamp (t is the signed time)', () => {
      verify({ 'X-FaceSign-Signature': facesignHeaders()['X-FaceSign-Signature'] });
    });

    it('accepts a timestamp just inside the tolerance, in the past and the future', () => {
      const edge = TOLERANCE_MS / 1000 - 1;
      verify(facesignHeaders(SECRET, NOW_S - edge));
      verify(facesignHeaders(SECRET, NOW_S + edge));
    });

    it('accepts upper-case hex and spaces after the commas', () => {
      const sig = v1(SECRET, NOW_S).toUpperCase();
      verify({ 'X-FaceSign-Signature': `t=${NOW_S}, v1=${sig}` });
    });
  });

  describe('verify: rejections (all 401)', () => {
    const good = facesignHeaders();
    const cases: Array<{ name: string; headers: Record<string, string | string[] | undefined>; raw?: Buffer; reason: RejectionReason }> = [
      { name: 'wrong secret', headers: facesignHeaders('not-the-secret'), reason: 'signature-mismatch' },
      { name: 'body altered by one byte', headers: good, raw: oneByteChanged(body), reason: 'signature-mismatch' },
      { name: 'signature of another body', headers: facesignHeaders(SECRET, NOW_S, Buffer.from('{}')), reason: 'signature-mismatch' },
      {
        name: 'v1 computed over the body alone (no "<t>.")',
        headers: { 'X-FaceSign-Signature': `t=${NOW_S},v1=${hmac(SECRET, body).toString('hex')}` },
        reason: 'signature-mismatch',
      },
      { name: 'signature header missing', headers: { 'X-FaceSign-Timestamp': String(NOW_S) }, reason: 'signature-missing' },
      { name: 'signature header empty', headers: { 'X-FaceSign-Signature': '' }, reason: 'signature-missing' },
      { name: 'v1 not hex', headers: { 'X-FaceSign-Signature': `t=${NOW_S},v1=${'zz'.repeat(32)}` }, reason: 'signature-malformed' },
      { name: 'v1 of the wrong length', headers: { 'X-FaceSign-Signature': `t=${NOW_S},v1=${v1(SECRET, NOW_S).slice(0, 62)}` }, reason: 'signature-malformed' },
      { name: 'no v1 at all', headers: { 'X-FaceSign-Signature': `t=${NOW_S}` }, reason: 'signature-malformed' },
      { name: 'missing t=', headers: { 'X-FaceSign-Signature': `v1=${v1(SECRET, NOW_S)}` }, reason: 'signature-malformed' },
      { name: 't not a number', headers: { 'X-FaceSign-Signature': `t=soon,v1=${v1(SECRET, 'soon')}` }, reason: 'signature-malformed' },
      {
        name: 'signature header sent twice',
        headers: { 'X-FaceSign-Signature': [good['X-FaceSign-Signature']!, good['X-FaceSign-Signature']!] },
        reason: 'signature-malformed',
      },
      { name: 'timestamp too old', headers: facesignHeaders(SECRET, NOW_S - TOLERANCE_MS / 1000 - 1), reason: 'timestamp-outside-tolerance' },
      { name: 'timestamp too far in the future', headers: facesignHeaders(SECRET, NOW_S + TOLERANCE_MS / 1000 + 1), reason: 'timestamp-outside-tolerance' },
      {
        name: 'X-FaceSign-Timestamp contradicting t',
        headers: { ...good, 'X-FaceSign-Timestamp': String(NOW_S - 1) },
        reason: 'header-mismatch',
      },
    ];
    for (const c of cases) {
      it(c.name, () => assertRejected(() => verify(c.headers, c.raw ?? body), c.reason));
    }

    it('honours a configured tolerance (60 s refuses a 2-minute-old signature)', () => {
      const strict = sourceFor('facesign', { toleranceMs: 60_000 });
      verify(facesignHeaders(SECRET, NOW_S - 50), body, strict);
      assertRejected(() => verify(facesignHeaders(SECRET, NOW_S - 120), body, strict), 'timestamp-outside-tolerance');
    });
  });

  describe('verify: key rotation', () => {
    const rotating = sourceFor('facesign', { secrets: [SECRET, OLD_SECRET] });

    it('accepts a request signed with either configured secret', () => {
      verify(facesignHeaders(SECRET), body, rotating);
      verify(facesignHeaders(OLD_SECRET), body, rotating);
      assertRejected(() => verify(facesignHeaders(OLD_SECRET)), 'signature-mismatch');
    });

    it('accepts a header with two v1 entries where only the second matches', () => {
      const header = `t=${NOW_S},v1=${v1('retired-secret', NOW_S)},v1=${v1(SECRET, NOW_S)}`;
      verify({ 'X-FaceSign-Signature': header });
    });

    it('refuses a header with two v1 entries where neither matches', () => {
      const header = `t=${NOW_S},v1=${v1('retired-secret', NOW_S)},v1=${v1('other-secret', NOW_S)}`;
      assertRejected(() => verify({ 'X-FaceSign-Signature': header }), 'signature-mismatch');
    });
  });

  describe('normalize: every shipped sample', () => {
    // providers.md §1 and product.md "The normalized event": the type's prefix gives
    // the category; session.status carries no status and settings.* decide nothing,
    // so their outcome is null; a media file or an analysis arriving is "completed".
    const EXPECTED: Record<string, { category: Category; outcome: Outcome | null }> = {
      'session.status': { category: 'verification', outcome: null },
      'media.user_photo': { category: 'media', outcome: 'completed' },
      'media.document_photo': { category: 'media', outcome: 'completed' },
      'media.user_video': { category: 'media', outcome: 'completed' },
      'analysis.video': { category: 'analysis', outcome: 'completed' },
      'analysis.screenshot': { category: 'analysis', outcome: 'completed' },
      'analysis.deepfake': { category: 'analysis', outcome: 'completed' },
      'settings.avatars': { category: 'settings', outcome: null },
      'settings.langs': { category: 'settings', outcome: null },
    };

    it('ships one sample for every documented type, and no other', () => {
      assert.deepEqual(sampleTypes('facesign'), Object.keys(EXPECTED).sort());
    });

    for (const type of sampleTypes('facesign')) {
      it(type, () => {
        const payload = loadSample('facesign', type);
        assertSchemaValid(facesign, payload);
        const facts = facesign.normalize(payload, request(JSON.stringify(payload)), NOW_MS);

        assert.equal(facts.type, type);
        assert.deepEqual({ category: facts.category, outcome: facts.outcome }, EXPECTED[type]);
        assert.equal(facts.subject, payload.sessionId);
        assert.match(facts.time, RFC3339);
        assert.equal(Date.parse(facts.time), payload.createdAt, 'time is createdAt (ms since epoch)');
        assert.equal(facts.providerEventId, payload.id);

        const media = payload.media as Record<string, any> | undefined;
        if (type.startsWith('media.')) {
          assert.ok(media, 'a media.* sample carries media');
          assert.equal(facts.media?.id, media.id);
          assert.equal(facts.media?.url, media.url);
          assert.equal(facts.media?.contentType, media.contentType);
          assert.match(facts.media?.expires ?? '', RFC3339);
          assert.equal(Date.parse(facts.media?.expires ?? ''), media.expires);
        } else {
          assert.equal(facts.media, undefined);
        }
      });
    }
  });

  describe('payload schema', () => {
    const photo = loadSample('facesign', 'media.user_photo');
    const invalid: Array<[string, (p: Record<string, any>) => void]> = [
      ['id missing', (p) => delete p.id],
      ['type missing', (p) => delete p.type],
      ['sessionId missing', (p) => delete p.sessionId],
      ['createdAt missing', (p) => delete p.createdAt],
      ['createdAt a string', (p) => (p.createdAt = '2026-11-18T10:00:00Z')],
      ['createdAt after the year 9999', (p) => (p.createdAt = Date.UTC(10000, 0, 1))],
      ['media.expires beyond what a Date can hold', (p) => (p.media.expires = 1e16)],
      ['media.* without media', (p) => delete p.media],
      ['media without url', (p) => delete p.media.url],
      ['media url not a URI', (p) => (p.media.url = 'not a url')],
    ];
    for (const [name, mutate] of invalid) {
      it(`refuses a payload with ${name}`, () => assertSchemaInvalid(facesign, variant(photo, mutate)));
    }

    it('allows extra fields the provider may add', () => {
      assertSchemaValid(
        facesign,
        variant(photo, (p) => (p.newField = { nested: true })),
      );
    });
  });

  describe('normalize: unknown types', () => {
    const base = loadSample('facesign', 'session.status');
    const cases: Array<[string, Category]> = [
      ['analysis.foo', 'analysis'],
      ['settings.theme', 'settings'],
      ['session.expired', 'verification'],
      ['watchlist.status_changed', 'watchlist'],
      ['brandnew', 'verification'],
    ];
    for (const [type, category] of cases) {
      it(`${type} -> ${category}, outcome null`, () => {
        const payload = { ...base, type };
        assertSchemaValid(facesign, payload);
        const facts = facesign.normalize(payload, request(JSON.stringify(payload)), NOW_MS);
        assert.equal(facts.type, type);
        assert.equal(facts.category, category);
        assert.equal(facts.outcome, null);
      });
    }
  });

  describe('dedupeKey', () => {
    it('is the payload id, whatever the bytes', () => {
      const payload = loadSample('facesign', 'analysis.video');
      assert.equal(facesign.dedupeKey(payload, request(JSON.stringify(payload))), 'evt_fs_0001a1b2c3');
      assert.equal(facesign.dedupeKey(payload, request(JSON.stringify(payload, null, 2))), 'evt_fs_0001a1b2c3');
    });
  });

  describe('freshenSample', () => {
    for (const type of ['session.status', 'media.user_video']) {
      it(`${type}: new id, current timestamps, still valid and signable`, () => {
        const sample = loadSample('facesign', type);
        const before = structuredClone(sample);
        const fresh = facesign.freshenSample(sample, NOW_MS);
        const again = facesign.freshenSample(sample, NOW_MS);

        assert.notEqual(fresh.id, sample.id);
        assert.notEqual(fresh.id, again.id);
        assert.equal(fresh.createdAt, NOW_MS);
        assert.equal(fresh.type, type);
        assert.equal(fresh.sessionId, sample.sessionId);
        if (sample.media) {
          const media = fresh.media as Record<string, unknown>;
          assert.equal(media.createdAt, NOW_MS);
          assert.equal(media.expires, NOW_MS + 15 * 60_000, 'media URLs expire 15 minutes after generation');
          assert.equal(media.url, (sample.media as Record<string, unknown>).url);
        }
        assert.deepEqual(sample, before, 'the loaded sample is not modified');
        assertSchemaValid(facesign, fresh);

        const raw = Buffer.from(JSON.stringify(fresh));
        verify(facesignHeaders(SECRET, NOW_S, raw), raw);
      });
    }
  });
});
