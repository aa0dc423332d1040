/**
 * Owl Eyes (providers.md §4): `x-owl-eyes-signature` = HMAC-SHA256 of
 * `"<x-owl-eyes-timestamp>.<rawBody>"`, hex (default) or base64; about 5 minutes'
 * tolerance. `id` is optional (else the body hash dedupes); `event` may replace `type`.
 */
import assert from 'node:assert/strict';
import type { RejectionReason } from '../../src/core/errors.js';
import type { SignatureEncoding } from '../../src/core/config.js';
import type { Category, Outcome } from '../../src/core/event.js';
import { owleyes } from '../../src/providers/owleyes.js';
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
  sha256Hex,
  sourceFor,
  variant,
} from './helpers.js';

const source = sourceFor('owleyes');
const base64Source = sourceFor('owleyes', { signatureEncoding: 'base64' });
const sample = loadSample('owleyes', 'verification.completed');
const body = rawBody(sample);

/** The headers Owl Eyes sends, computed independently of the adapter. */
function owlHeaders(opts: { secret?: string; t?: number; encoding?: SignatureEncoding; signed?: Buffer } = {}): Record<string, string> {
  const { secret = SECRET, t = NOW_S, encoding = 'hex', signed = body } = opts;
  const mac = hmac(secret, Buffer.concat([Buffer.from(`${t}.`), signed]));
  return { 'x-owl-eyes-timestamp': String(t), 'x-owl-eyes-signature': mac.toString(encoding) };
}

const verify = (headers: Record<string, string | string[] | undefined>, raw: Buffer = body, src = source) => owleyes.verify(request(raw, headers), src, NOW_MS);

describe('owleyes adapter', () => {
  describe('verify: accepted signatures', () => {
    it('accepts a hex signature computed from the spec (the default encoding)', () => {
      verify(owlHeaders());
    });

    it('accepts a base64 signature when the source says base64', () => {
      verify(owlHeaders({ encoding: 'base64' }), body, base64Source);
    });

    for (const src of [source, base64Source]) {
      it(`accepts what its own sign() produces, and signs what the spec says (${src.signatureEncoding})`, () => {
        const headers = owleyes.sign(body, src, NOW_MS);
        verify(headers, body, src);
        assert.deepEqual(headers, owlHeaders({ encoding: src.signatureEncoding }));
      });
    }

    it('accepts a timestamp just inside the tolerance, in the past and the future', () => {
      const edge = TOLERANCE_MS / 1000 - 1;
      verify(owlHeaders({ t: NOW_S - edge }));
      verify(owlHeaders({ t: NOW_S + edge }));
    });
  });

  describe('verify: rejections (all 401)', () => {
    const good = owlHeaders();
    const withSignature = (value: string | string[] | undefined) => ({ ...good, 'x-owl-eyes-signature': value });
    const cases: Array<{ name: string; headers: Record<string, string | string[] | undefined>; raw?: Buffer; src?: typeof source; reason: RejectionReason }> = [
      { name: 'wrong secret', headers: owlHeaders({ secret: 'not-the-secret' }), reason: 'signature-mismatch' },
      { name: 'body altered by one byte', headers: good, raw: oneByteChanged(body), reason: 'signature-mismatch' },
      { name: 'signature of another body', headers: owlHeaders({ signed: Buffer.from('{}') }), reason: 'signature-mismatch' },
      {
        name: 'HMAC over the body alone (the old X-Owl-Signature scheme)',
        headers: withSignature(hmac(SECRET, body).toString('hex')),
        reason: 'signature-mismatch',
      },
      { name: 'timestamp header changed after signing', headers: { ...good, 'x-owl-eyes-timestamp': String(NOW_S - 1) }, reason: 'signature-mismatch' },
      { name: 'signature header missing', headers: withSignature(undefined), reason: 'signature-missing' },
      { name: 'timestamp header missing', headers: { ...good, 'x-owl-eyes-timestamp': undefined }, reason: 'signature-missing' },
      { name: 'not hex', headers: withSignature('x'.repeat(64)), reason: 'signature-malformed' },
      { name: 'hex of the wrong length', headers: withSignature(good['x-owl-eyes-signature']!.slice(0, 60)), reason: 'signature-malformed' },
      { name: 'base64 sent to a hex source', headers: owlHeaders({ encoding: 'base64' }), reason: 'signature-malformed' },
      { name: 'hex sent to a base64 source', headers: good, src: base64Source, reason: 'signature-malformed' },
      { name: 'base64 of the wrong length', headers: withSignature(Buffer.alloc(20).toString('base64')), src: base64Source, reason: 'signature-malformed' },
      {
        name: 'signature header sent twice',
        headers: withSignature([good['x-owl-eyes-signature']!, good['x-owl-eyes-signature']!]),
        reason: 'signature-malformed',
      },
      { name: 'timestamp not Unix seconds', headers: { ...good, 'x-owl-eyes-timestamp': String(NOW_MS) + '.5' }, reason: 'signature-malformed' },
      { name: 'timestamp too old', headers: owlHeaders({ t: NOW_S - TOLERANCE_MS / 1000 - 1 }), reason: 'timestamp-outside-tolerance' },
      { name: 'timestamp too far in the future', headers: owlHeaders({ t: NOW_S + TOLERANCE_MS / 1000 + 1 }), reason: 'timestamp-outside-tolerance' },
      { name: 'base64: wrong secret', headers: owlHeaders({ secret: 'nope', encoding: 'base64' }), src: base64Source, reason: 'signature-mismatch' },
    ];
    for (const c of cases) {
      it(c.name, () => assertRejected(() => verify(c.headers, c.raw ?? body, c.src ?? source), c.reason));
    }
  });

  describe('verify: key rotation', () => {
    it('accepts a request signed with either configured secret', () => {
      const rotating = sourceFor('owleyes', { secrets: [SECRET, OLD_SECRET] });
      verify(owlHeaders({ secret: SECRET }), body, rotating);
      verify(owlHeaders({ secret: OLD_SECRET }), body, rotating);
      assertRejected(() => verify(owlHeaders({ secret: OLD_SECRET })), 'signature-mismatch');
    });
  });

  describe('normalize: every shipped sample', () => {
    // providers.md §4: each verification.* type names its outcome; review.completed
    // carries the reviewer's decision in data.status ("rejected" in the sample).
    const EXPECTED: Record<string, { category: Category; outcome: Outcome | null }> = {
      'verification.started': { category: 'verification', outcome: 'started' },
      'verification.completed': { category: 'verification', outcome: 'completed' },
      'verification.failed': { category: 'verification', outcome: 'failed' },
      'verification.review_required': { category: 'verification', outcome: 'review' },
      'verification.expired': { category: 'verification', outcome: 'expired' },
      'verification.abandoned': { category: 'verification', outcome: 'abandoned' },
      'review.completed': { category: 'verification', outcome: 'rejected' },
    };

    it('ships one sample for every documented type, and no other', () => {
      assert.deepEqual(sampleTypes('owleyes'), Object.keys(EXPECTED).sort());
    });

    for (const type of sampleTypes('owleyes')) {
      it(type, () => {
        const payload = loadSample('owleyes', type);
        assertSchemaValid(owleyes, payload);
        const facts = owleyes.normalize(payload, request(JSON.stringify(payload)), NOW_MS);

        assert.equal(facts.type, type);
        assert.deepEqual({ category: facts.category, outcome: facts.outcome }, EXPECTED[type]);
        assert.equal(facts.subject, (payload.data as Record<string, unknown>).verification_id);
        assert.match(facts.time, RFC3339);
        assert.equal(Date.parse(facts.time), Date.parse(String(payload.created_at)));
        assert.equal(facts.providerEventId, payload.id);
        assert.equal(facts.media, undefined);
      });
    }
  });

  describe('payload schema', () => {
    const invalid: Array<[string, (p: Record<string, any>) => void]> = [
      ['neither type nor event', (p) => delete p.type],
      ['created_at missing', (p) => delete p.created_at],
      ['created_at not a date-time', (p) => (p.created_at = 'yesterday')],
      ['created_at in Unix seconds', (p) => (p.created_at = 1795000000)],
      ['data missing', (p) => delete p.data],
      ['a score that is not a number', (p) => (p.data.score = 'high')],
    ];
    for (const [name, mutate] of invalid) {
      it(`refuses a payload with ${name}`, () => assertSchemaInvalid(owleyes, variant(sample, mutate)));
    }
  });

  describe('normalize: created_at', () => {
    const timeOf = (createdAt: string) => {
      const payload = { ...sample, created_at: createdAt };
      assertSchemaValid(owleyes, payload);
      return owleyes.normalize(payload, request(JSON.stringify(payload)), NOW_MS).time;
    };

    it('is converted to UTC', () => {
      assert.equal(timeOf('2026-11-18T12:30:00+02:00'), '2026-11-18T10:30:00.000Z');
    });

    it('reads a leap second (valid RFC 3339, NaN for a JavaScript Date) as 23:59:59.999', () => {
      assert.equal(timeOf('2026-12-31T23:59:60Z'), '2026-12-31T23:59:59.999Z');
      assert.equal(timeOf('2026-12-31T22:59:60.5-01:00'), '2026-12-31T23:59:59.999Z');
    });
  });

  describe('the older payload shape: `event` instead of `type`, no `id`', () => {
    const older = variant(sample, (p) => {
      p.event = p.type;
      delete p.type;
      delete p.id;
    });
    const raw = Buffer.from(JSON.stringify(older));

    it('validates and normalizes, with no provider event id', () => {
      assertSchemaValid(owleyes, older);
      const facts = owleyes.normalize(older, request(raw), NOW_MS);
      assert.equal(facts.type, 'verification.completed');
      assert.equal(facts.outcome, 'completed');
      assert.equal(facts.subject, 'ver_3e8f1a2b');
      assert.equal(facts.providerEventId, null);
    });

    it('dedupes by a hash of the raw body', () => {
      assert.equal(owleyes.dedupeKey(older, request(raw)), `sha256:${sha256Hex(raw)}`);
      assert.equal(owleyes.dedupeKey(older, request(Buffer.from(raw))), owleyes.dedupeKey(older, request(raw)));
      assert.notEqual(owleyes.dedupeKey(older, request(oneByteChanged(raw))), owleyes.dedupeKey(older, request(raw)));
    });

    it('dedupes by the id when there is one, whatever the bytes', () => {
      assert.equal(owleyes.dedupeKey(sample, request(body)), 'evt_oe001b81c');
      assert.equal(owleyes.dedupeKey(sample, request(JSON.stringify(sample))), 'evt_oe001b81c');
    });
  });

  describe('normalize: unknown types and review decisions', () => {
    const classify = (type: string, data: Record<string, unknown> = { verification_id: 'ver_x' }) => {
      const payload = { ...sample, type, data };
      assertSchemaValid(owleyes, payload);
      const facts = owleyes.normalize(payload, request(JSON.stringify(payload)), NOW_MS);
      return { category: facts.category, outcome: facts.outcome };
    };

    const unknown: Array<[string, Category]> = [
      ['verification.paused', 'verification'],
      ['review.assigned', 'verification'],
      ['analysis.foo', 'analysis'],
      ['watchlist.status_changed', 'watchlist'],
      ['account.updated', 'verification'],
    ];
    for (const [type, category] of unknown) {
      it(`${type} -> ${category}, outcome null`, () => {
        assert.deepEqual(classify(type), { category, outcome: null });
      });
    }

    const reviews: Array<[string, Outcome]> = [
      ['approved', 'approved'],
      ['rejected', 'rejected'],
      ['declined', 'rejected'],
      ['escalated', 'completed'],
    ];
    for (const [status, outcome] of reviews) {
      it(`review.completed with data.status ${status} -> ${outcome}`, () => {
        assert.deepEqual(classify('review.completed', { verification_id: 'ver_x', status }), { category: 'verification', outcome });
      });
    }
  });

  describe('freshenSample', () => {
    it('gives a new id and the current time, keeps the rest, and stays valid and signable', () => {
      const before = structuredClone(sample);
      const fresh = owleyes.freshenSample(sample, NOW_MS);

      assert.notEqual(fresh.id, sample.id);
      assert.notEqual(fresh.id, owleyes.freshenSample(sample, NOW_MS).id);
      assert.equal(fresh.created_at, new Date(NOW_MS).toISOString());
      assert.deepEqual(fresh.data, sample.data);
      assert.deepEqual(sample, before, 'the loaded sample is not modified');
      assertSchemaValid(owleyes, fresh);

      const raw = Buffer.from(JSON.stringify(fresh));
      verify(owlHeaders({ signed: raw }), raw);
    });
  });
});
