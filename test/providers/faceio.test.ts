/**
 * FACEIO (providers.md §2): no signature; `WWW-Authenticate: Bearer <token>` must
 * equal the application's webhook token. No event id: the body hash dedupes.
 */
import assert from 'node:assert/strict';
import type { RejectionReason } from '../../src/core/errors.js';
import type { Category, Outcome } from '../../src/core/event.js';
import { faceio } from '../../src/providers/faceio.js';
import { loadSample, sampleTypes } from '../../src/providers/samples.js';
import {
  NOW_MS,
  OLD_TOKEN,
  RFC3339,
  TOKEN,
  assertRejected,
  assertSchemaInvalid,
  assertSchemaValid,
  oneByteChanged,
  rawBody,
  request,
  sha256Hex,
  sourceFor,
  variant,
} from './helpers.js';

const source = sourceFor('faceio');
const body = rawBody(loadSample('faceio', 'ENROLL'));

const verify = (authorization: string | string[] | undefined, src = source) => faceio.verify(request(body, { 'WWW-Authenticate': authorization }), src, NOW_MS);

describe('faceio adapter', () => {
  describe('verify: tokens', () => {
    it('accepts "Bearer <token>" with the configured token', () => {
      verify(`Bearer ${TOKEN}`);
    });

    it('accepts what its own sign() produces (round trip)', () => {
      const headers = faceio.sign(body, source, NOW_MS);
      assert.deepEqual(headers, { 'WWW-Authenticate': `Bearer ${TOKEN}` });
      faceio.verify(request(body, headers), source, NOW_MS);
    });

    it('reads the scheme name case-insensitively (RFC 7235)', () => {
      verify(`bearer ${TOKEN}`);
      verify(`BEARER ${TOKEN}`);
    });

    it('refuses a bare token by default', () => {
      assertRejected(() => verify(TOKEN), 'signature-malformed');
    });

    it('accepts a bare token when allowBareToken is set, and still checks it', () => {
      const lenient = sourceFor('faceio', { allowBareToken: true });
      verify(TOKEN, lenient);
      verify(`Bearer ${TOKEN}`, lenient);
      assertRejected(() => verify('not-the-token', lenient), 'token-mismatch');
    });

    it('accepts any of several configured tokens (rotation)', () => {
      const rotating = sourceFor('faceio', { tokens: [TOKEN, OLD_TOKEN] });
      verify(`Bearer ${TOKEN}`, rotating);
      verify(`Bearer ${OLD_TOKEN}`, rotating);
      assertRejected(() => verify(`Bearer ${OLD_TOKEN}`), 'token-mismatch');
    });
  });

  describe('verify: rejections (all 401)', () => {
    const cases: Array<[string, string | string[] | undefined, RejectionReason]> = [
      ['wrong token', 'Bearer not-the-token', 'token-mismatch'],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`, 'token-mismatch'],
      ['the token with a character added', `Bearer ${TOKEN}x`, 'token-mismatch'],
      ['header missing', undefined, 'signature-missing'],
      ['header empty', '', 'signature-missing'],
      ['Bearer without a token', 'Bearer ', 'signature-malformed'],
      ['Bearer missing (bare token)', TOKEN, 'signature-malformed'],
      ['another scheme', `Basic ${TOKEN}`, 'signature-malformed'],
      ['header sent twice', [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`], 'signature-malformed'],
    ];
    for (const [name, header, reason] of cases) {
      it(name, () => assertRejected(() => verify(header), reason));
    }

    it('refuses every request when no token is configured', () => {
      assertRejected(() => verify(`Bearer ${TOKEN}`, sourceFor('faceio', { tokens: [] })), 'token-mismatch');
    });
  });

  describe('normalize: every shipped sample', () => {
    // providers.md §2: ENROLL enrollment succeeded, AUTH authentication succeeded,
    // DELETION facial ID deleted; all are about an identity.
    const EXPECTED: Record<string, { category: Category; outcome: Outcome | null }> = {
      ENROLL: { category: 'identity', outcome: 'enrolled' },
      AUTH: { category: 'identity', outcome: 'authenticated' },
      DELETION: { category: 'identity', outcome: 'deleted' },
    };

    it('ships one sample for every documented event name, and no other', () => {
      assert.deepEqual(sampleTypes('faceio'), Object.keys(EXPECTED).sort());
    });

    for (const type of sampleTypes('faceio')) {
      it(type, () => {
        const payload = loadSample('faceio', type);
        assertSchemaValid(faceio, payload);
        const facts = faceio.normalize(payload, request(JSON.stringify(payload)), NOW_MS);

        assert.equal(facts.type, type);
        assert.deepEqual({ category: facts.category, outcome: facts.outcome }, EXPECTED[type]);
        assert.equal(facts.subject, payload.facialId);
        assert.match(facts.time, RFC3339);
        // FACEIO sends only a date, so the event's time is when herald received it.
        assert.equal(Date.parse(facts.time), NOW_MS);
        assert.equal(facts.providerEventId, null);
        assert.equal(facts.media, undefined);
      });
    }
  });

  describe('payload schema', () => {
    const enroll = loadSample('faceio', 'ENROLL');
    const invalid: Array<[string, (p: Record<string, any>) => void]> = [
      ['eventName missing', (p) => delete p.eventName],
      ['facialId missing', (p) => delete p.facialId],
      ['facialId empty', (p) => (p.facialId = '')],
      ['details.timestamp not a date', (p) => (p.details.timestamp = '18/11/2026')],
      ['details not an object', (p) => (p.details = 'x')],
    ];
    for (const [name, mutate] of invalid) {
      it(`refuses a payload with ${name}`, () => assertSchemaInvalid(faceio, variant(enroll, mutate)));
    }
  });

  describe('normalize: unknown event names', () => {
    // "and many other events": accepted, routed as identity events with no outcome.
    for (const type of ['ENROLL_FAILED', 'SPOOF_ATTEMPT', 'analysis.foo']) {
      it(type, () => {
        const payload = { ...loadSample('faceio', 'AUTH'), eventName: type };
        assertSchemaValid(faceio, payload);
        const facts = faceio.normalize(payload, request(JSON.stringify(payload)), NOW_MS);
        assert.equal(facts.type, type);
        assert.equal(facts.category, type === 'analysis.foo' ? 'analysis' : 'identity');
        assert.equal(facts.outcome, null);
      });
    }
  });

  describe('dedupeKey: a hash of the raw body', () => {
    const payload = loadSample('faceio', 'AUTH');
    const raw = Buffer.from(JSON.stringify(payload));
    const key = (bytes: Buffer) => faceio.dedupeKey(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>, request(bytes));

    it('is sha256 of the bytes', () => {
      assert.equal(key(raw), `sha256:${sha256Hex(raw)}`);
    });

    it('is the same for the same body, received twice', () => {
      assert.equal(key(raw), key(Buffer.from(raw)));
    });

    it('differs when one byte differs', () => {
      const other = Buffer.from(JSON.stringify({ ...payload, facialId: `${String(payload.facialId).slice(0, -1)}d` }));
      assert.equal(other.length, raw.length);
      assert.notEqual(key(other), key(raw));
      assert.notEqual(faceio.dedupeKey(payload, request(oneByteChanged(raw))), key(raw));
    });
  });

  describe('freshenSample', () => {
    it('sets details.timestamp to the day of nowMs (UTC), keeps the rest, and stays valid', () => {
      const sample = loadSample('faceio', 'ENROLL');
      const before = structuredClone(sample);
      const fortyDaysLater = NOW_MS + 40 * 86_400_000;
      const fresh = faceio.freshenSample(sample, fortyDaysLater);

      assert.deepEqual(fresh.details, { ...(sample.details as object), timestamp: '2026-12-28' });
      assert.equal(fresh.eventName, 'ENROLL');
      assert.equal(fresh.facialId, sample.facialId);
      assert.deepEqual(sample, before, 'the loaded sample is not modified');
      assertSchemaValid(faceio, fresh);
    });
  });
});
