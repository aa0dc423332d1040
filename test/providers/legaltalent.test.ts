/**
 * LegalTalent KYC (providers.md §3): `X-Webhook-Signature: sha256=<hex>`, HMAC-SHA256
 * over `"<X-Webhook-Timestamp>.<body>"` (default) or the body alone (`signedPayload: body`).
 * `X-Webhook-ID` equals the payload id, which is the dedupe key.
 */
import assert from 'node:assert/strict';
import type { RejectionReason } from '../../src/core/errors.js';
import type { Category, Outcome } from '../../src/core/event.js';
import { legaltalent } from '../../src/providers/legaltalent.js';
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

const source = sourceFor('legaltalent');
const bodyOnly = sourceFor('legaltalent', { signedPayload: 'body' });
const sample = loadSample('legaltalent', 'kyc.session.approved');
const body = rawBody(sample);

type Mode = 'timestamp.body' | 'body';

/** The headers LegalTalent sends, computed independently of the adapter. */
function legaltalentHeaders(opts: { secret?: string; t?: number; mode?: Mode; signed?: Buffer } = {}): Record<string, string> {
  const { secret = SECRET, t = NOW_S, mode = 'timestamp.body', signed = body } = opts;
  const content = mode === 'body' ? signed : Buffer.concat([Buffer.from(`${t}.`), signed]);
  return {
    'X-Webhook-ID': String(sample.id),
    'X-Webhook-Timestamp': String(t),
    'X-Webhook-Signature': `sha256=${hmac(secret, content).toString('hex')}`,
    'User-Agent': 'KYC-Webhooks/1.0',
  };
}

const verify = (headers: Record<string, string | string[] | undefined>, raw: Buffer = body, src = source) =>
  legaltalent.verify(request(raw, headers), src, NOW_MS);

describe('legaltalent adapter', () => {
  describe('verify: accepted signatures', () => {
    it('accepts "timestamp.body" (the default) computed from the spec', () => {
      verify(legaltalentHeaders());
    });

    it('accepts "body" when the source says so', () => {
      verify(legaltalentHeaders({ mode: 'body' }), body, bodyOnly);
    });

    for (const src of [source, bodyOnly]) {
      it(`accepts what its own sign() produces, and signs what the spec says (${src.signedPayload})`, () => {
        const headers = legaltalent.sign(body, src, NOW_MS);
        verify(headers, body, src);
        assert.deepEqual(headers, legaltalentHeaders({ mode: src.signedPayload }));
      });
    }

    it('accepts a timestamp just inside the tolerance, in the past and the future', () => {
      const edge = TOLERANCE_MS / 1000 - 1;
      verify(legaltalentHeaders({ t: NOW_S - edge }));
      verify(legaltalentHeaders({ t: NOW_S + edge }));
    });

    it('in "body" mode the unsigned timestamp is not checked (it proves nothing)', () => {
      verify(legaltalentHeaders({ mode: 'body', t: NOW_S - 86_400 }), body, bodyOnly);
      const { 'X-Webhook-Timestamp': _dropped, ...withoutTimestamp } = legaltalentHeaders({ mode: 'body' });
      verify(withoutTimestamp, body, bodyOnly);
    });
  });

  describe('verify: a signature made in one mode is refused in the other', () => {
    it('"body" signature, "timestamp.body" source', () => {
      assertRejected(() => verify(legaltalentHeaders({ mode: 'body' }), body, source), 'signature-mismatch');
    });
    it('"timestamp.body" signature, "body" source', () => {
      assertRejected(() => verify(legaltalentHeaders({ mode: 'timestamp.body' }), body, bodyOnly), 'signature-mismatch');
    });
  });

  describe('verify: rejections (all 401)', () => {
    const good = legaltalentHeaders();
    const hex = good['X-Webhook-Signature']!.slice('sha256='.length);
    const withSignature = (value: string | string[] | undefined) => ({ ...good, 'X-Webhook-Signature': value });
    const cases: Array<{ name: string; headers: Record<string, string | string[] | undefined>; raw?: Buffer; reason: RejectionReason }> = [
      { name: 'wrong secret', headers: legaltalentHeaders({ secret: 'not-the-secret' }), reason: 'signature-mismatch' },
      { name: 'body altered by one byte', headers: good, raw: oneByteChanged(body), reason: 'signature-mismatch' },
      { name: 'signature of another body', headers: legaltalentHeaders({ signed: Buffer.from('{}') }), reason: 'signature-mismatch' },
      { name: 'timestamp header changed after signing', headers: { ...good, 'X-Webhook-Timestamp': String(NOW_S - 1) }, reason: 'signature-mismatch' },
      { name: 'signature header missing', headers: withSignature(undefined), reason: 'signature-missing' },
      { name: 'signature header empty', headers: withSignature(''), reason: 'signature-missing' },
      { name: 'missing "sha256=" prefix', headers: withSignature(hex), reason: 'signature-malformed' },
      { name: 'another algorithm prefix', headers: withSignature(`sha1=${hex}`), reason: 'signature-malformed' },
      { name: 'not hex', headers: withSignature(`sha256=${'g'.repeat(64)}`), reason: 'signature-malformed' },
      { name: 'wrong length', headers: withSignature(`sha256=${hex.slice(0, 40)}`), reason: 'signature-malformed' },
      {
        name: 'signature header sent twice',
        headers: withSignature([good['X-Webhook-Signature']!, good['X-Webhook-Signature']!]),
        reason: 'signature-malformed',
      },
      { name: 'timestamp header missing', headers: { ...good, 'X-Webhook-Timestamp': undefined }, reason: 'signature-missing' },
      { name: 'timestamp not Unix seconds', headers: { ...good, 'X-Webhook-Timestamp': new Date(NOW_MS).toISOString() }, reason: 'signature-malformed' },
      { name: 'timestamp too old', headers: legaltalentHeaders({ t: NOW_S - TOLERANCE_MS / 1000 - 1 }), reason: 'timestamp-outside-tolerance' },
      { name: 'timestamp too far in the future', headers: legaltalentHeaders({ t: NOW_S + TOLERANCE_MS / 1000 + 1 }), reason: 'timestamp-outside-tolerance' },
    ];
    for (const c of cases) {
      it(c.name, () => assertRejected(() => verify(c.headers, c.raw ?? body), c.reason));
    }

    it('in "body" mode: wrong secret and altered body are still refused', () => {
      assertRejected(() => verify(legaltalentHeaders({ mode: 'body', secret: 'nope' }), body, bodyOnly), 'signature-mismatch');
      assertRejected(() => verify(legaltalentHeaders({ mode: 'body' }), oneByteChanged(body), bodyOnly), 'signature-mismatch');
    });
  });

  describe('verify: key rotation', () => {
    it('accepts a request signed with either configured secret', () => {
      const rotating = sourceFor('legaltalent', { secrets: [SECRET, OLD_SECRET] });
      verify(legaltalentHeaders({ secret: SECRET }), body, rotating);
      verify(legaltalentHeaders({ secret: OLD_SECRET }), body, rotating);
      assertRejected(() => verify(legaltalentHeaders({ secret: OLD_SECRET })), 'signature-mismatch');
    });
  });

  describe('normalize: X-Webhook-ID', () => {
    const normalize = (headers: Record<string, string>) => legaltalent.normalize(sample, request(body, headers), NOW_MS);

    it('accepts a header equal to the payload id, or no header', () => {
      assert.equal(normalize({ 'X-Webhook-ID': String(sample.id) }).providerEventId, sample.id);
      assert.equal(normalize({}).providerEventId, sample.id);
    });

    it('rejects (400) a header that differs from the payload id', () => {
      assertRejected(() => normalize({ 'X-Webhook-ID': 'evt_someone_else' }), 'header-mismatch', 400);
    });
  });

  describe('normalize: every shipped sample', () => {
    // providers.md §3: created starts a session, completed ends the capture, approved /
    // rejected are manual decisions, manual_review asks for one; processed is the
    // automated decision, so its outcome is its data.status (APPROVED in the sample,
    // even though final_decision is "flagged"). watchlist.match alerts on a new match.
    const EXPECTED: Record<string, { category: Category; outcome: Outcome | null }> = {
      'kyc.session.created': { category: 'verification', outcome: 'started' },
      'kyc.session.completed': { category: 'verification', outcome: 'completed' },
      'kyc.session.processed': { category: 'verification', outcome: 'approved' },
      'kyc.session.approved': { category: 'verification', outcome: 'approved' },
      'kyc.session.rejected': { category: 'verification', outcome: 'rejected' },
      'kyc.session.manual_review': { category: 'verification', outcome: 'review' },
      'watchlist.match': { category: 'watchlist', outcome: 'match' },
    };

    it('has an expectation for every sample, and a sample for every documented type', () => {
      assert.deepEqual(sampleTypes('legaltalent'), Object.keys(EXPECTED).sort());
    });

    for (const type of sampleTypes('legaltalent')) {
      it(type, () => {
        const payload = loadSample('legaltalent', type);
        assertSchemaValid(legaltalent, payload);
        const raw = Buffer.from(JSON.stringify(payload));
        const facts = legaltalent.normalize(payload, request(raw, { 'X-Webhook-ID': String(payload.id) }), NOW_MS);

        assert.equal(facts.type, type);
        assert.deepEqual({ category: facts.category, outcome: facts.outcome }, EXPECTED[type]);
        assert.equal(facts.subject, (payload.data as Record<string, unknown>).session_id);
        assert.match(facts.time, RFC3339);
        assert.equal(Date.parse(facts.time), (payload.created as number) * 1000, 'time is `created` (Unix seconds)');
        assert.equal(facts.providerEventId, payload.id);
        assert.equal(facts.media, undefined);
      });
    }
  });

  describe('payload schema', () => {
    const invalid: Array<[string, (p: Record<string, any>) => void]> = [
      ['id missing', (p) => delete p.id],
      ['type missing', (p) => delete p.type],
      ['created missing', (p) => delete p.created],
      ['created in milliseconds as a string', (p) => (p.created = '1795000003000')],
      ['created after the year 9999', (p) => (p.created = Date.UTC(10000, 0, 1) / 1000)],
      ['data missing', (p) => delete p.data],
      ['data not an object', (p) => (p.data = 'APPROVED')],
    ];
    for (const [name, mutate] of invalid) {
      it(`refuses a payload with ${name}`, () => assertSchemaInvalid(legaltalent, variant(sample, mutate)));
    }
  });

  describe('normalize: unknown types and automated decisions', () => {
    const classify = (type: string, data: Record<string, unknown> = { session_id: 'kyc_sess_x' }) => {
      const payload = { ...sample, type, data };
      assertSchemaValid(legaltalent, payload);
      const facts = legaltalent.normalize(payload, request(JSON.stringify(payload)), NOW_MS);
      return { category: facts.category, outcome: facts.outcome };
    };

    const unknown: Array<[string, Category, Outcome | null]> = [
      ['watchlist.status_changed', 'watchlist', null],
      ['watchlist.new_match', 'watchlist', 'match'],
      ['watchlist.match_found', 'watchlist', 'match'],
      ['watchlist.match_dismissed', 'watchlist', null],
      ['watchlist.unmatched', 'watchlist', null],
      ['analysis.foo', 'analysis', null],
      ['kyc.session.expired', 'verification', null],
      ['kyc.document.uploaded', 'verification', null],
      ['billing.invoice', 'verification', null],
    ];
    for (const [type, category, outcome] of unknown) {
      it(`${type} -> ${category} / ${String(outcome)}`, () => {
        assert.deepEqual(classify(type), { category, outcome });
      });
    }

    const decisions: Array<[string, Outcome]> = [
      ['APPROVED', 'approved'],
      ['approved', 'approved'],
      ['REJECTED', 'rejected'],
      ['DECLINED', 'rejected'],
      ['MANUAL_REVIEW', 'review'],
      ['SOMETHING_NEW', 'completed'],
    ];
    for (const [status, outcome] of decisions) {
      it(`kyc.session.processed with data.status ${status} -> ${outcome}`, () => {
        assert.deepEqual(classify('kyc.session.processed', { session_id: 'kyc_sess_x', status }), { category: 'verification', outcome });
      });
    }

    it('kyc.session.processed without data.status -> completed', () => {
      assert.deepEqual(classify('kyc.session.processed'), { category: 'verification', outcome: 'completed' });
    });
  });

  describe('dedupeKey', () => {
    it('is the payload id, whatever the bytes', () => {
      assert.equal(legaltalent.dedupeKey(sample, request(body)), 'evt_lt0037f2a9c');
      assert.equal(legaltalent.dedupeKey(sample, request(JSON.stringify(sample))), 'evt_lt0037f2a9c');
    });
  });

  describe('freshenSample', () => {
    it('gives a new id and the current time, keeps the rest, and stays valid and signable', () => {
      const before = structuredClone(sample);
      const fresh = legaltalent.freshenSample(sample, NOW_MS);

      assert.notEqual(fresh.id, sample.id);
      assert.notEqual(fresh.id, legaltalent.freshenSample(sample, NOW_MS).id);
      assert.match(String(fresh.id), /^evt_/);
      assert.equal(fresh.created, NOW_S);
      assert.deepEqual(fresh.data, sample.data);
      assert.deepEqual(sample, before, 'the loaded sample is not modified');
      assertSchemaValid(legaltalent, fresh);

      const raw = Buffer.from(JSON.stringify(fresh));
      const headers = legaltalent.sign(raw, source, NOW_MS);
      assert.equal(headers['X-Webhook-ID'], fresh.id);
      const req = request(raw, headers);
      legaltalent.verify(req, source, NOW_MS);
      assert.equal(legaltalent.normalize(fresh, req, NOW_MS).providerEventId, fresh.id);
    });
  });
});
