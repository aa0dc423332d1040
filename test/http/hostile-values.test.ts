/**
 * Correctly signed payloads with values that used to break herald (issue 13,
 * items 2 and 9): a type (FACEIO eventName, Owl Eyes data.status) that names
 * what every object inherits was classified through the prototype chain, got
 * no category and failed its insert, and on PostgreSQL every other insert of
 * its batch with it; LegalTalent ids and status given as objects made a 500;
 * 1e400 was stored as null. Now any type string is stored and routed, those
 * fields are read only when they are strings, and a number beyond a double is
 * refused (422).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { CATEGORIES, type NormalizedEvent, type ProviderId } from '../../src/core/event.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSources } from '../helpers/config.js';
import { signedRequest, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { INHERITED_NAMES } from '../helpers/hostile-values.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');

describe('signed payloads with hostile values', function () {
  this.timeout(60_000);
  let herald: TestHerald;
  let sink: HttpSink;
  const sources = testSources();

  beforeEach(async () => {
    sink = await startHttpSink(() => ({ status: 200 }));
    herald = await startTestHerald({
      rulesDir: ONE_WEBHOOK_RULE,
      destinations: {
        hook: {
          name: 'hook',
          type: 'webhook',
          options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
        },
      },
    });
  });
  afterEach(async () => {
    await herald.stop();
    await sink.close();
  });

  /** Every provider's field that names the type, set to `name` (and Owl Eyes' review status). */
  function payloadsNaming(name: string, n: number): Array<[ProviderId, Record<string, unknown>]> {
    const owlReview = loadSample('owleyes', 'review.completed');
    return [
      ['facesign', { ...loadSample('facesign', 'session.status'), id: `evt_fs_${n}`, type: name }],
      ['faceio', { ...loadSample('faceio', 'ENROLL'), facialId: `face_${n}`, eventName: name }],
      ['legaltalent', { ...loadSample('legaltalent', 'kyc.session.created'), id: `evt_lt_${n}`, type: name }],
      ['owleyes', { ...loadSample('owleyes', 'verification.started'), id: `evt_oe_${n}`, type: name }],
      ['owleyes', { ...owlReview, id: `evt_oe_review_${n}`, data: { ...(owlReview.data as object), status: name } }],
    ];
  }

  it(`stores and routes events whose type is any of the ${INHERITED_NAMES.length} names objects inherit (constructor, __proto__, toString, ...), sent at once`, async () => {
    const payloads = INHERITED_NAMES.flatMap((name, n) => payloadsNaming(name, n));
    const replies = await Promise.all(payloads.map(([provider, payload]) => herald.postSigned(sources[provider], payload)));
    assert.deepEqual(
      replies.map((r) => r.status),
      payloads.map(() => 200),
      JSON.stringify(replies.filter((r) => r.status !== 200)),
    );

    const events = await herald.store.listEvents({ limit: 1000 });
    assert.equal(events.length, payloads.length);
    for (const e of events) {
      const expected = e.provider === 'owleyes' && e.type === 'review.completed' ? 'completed' : null;
      assert.deepEqual([e.category, e.outcome], [PROVIDERS[e.provider as ProviderId].defaultCategory, expected], `${e.provider} ${e.type}`);
      assert.ok(CATEGORIES.includes(e.category));
    }
    assert.deepEqual(new Set(events.map((e) => e.type)), new Set([...INHERITED_NAMES, 'review.completed']));
    // Routed like any event: the catch-all rule sends each to the hook.
    await sink.waitFor(payloads.length, 20_000);
  });

  it('stores a LegalTalent event whose data.session_id or data.status is an object (never a 500): no subject from it, outcome completed', async () => {
    const processed = loadSample('legaltalent', 'kyc.session.processed');
    const data = processed.data as Record<string, unknown>;
    const cases: Array<[Record<string, unknown>, string | null]> = [
      [{ ...data, session_id: { toString: 1, valueOf: 1 } }, null],
      [{ ...data, session_id: ['kyc_sess_1'], verification_id: 'ver_2' }, 'ver_2'],
      [{ ...data, session_id: 42 }, '42'],
      [{ ...data, status: { toString: 1 } }, 'kyc_sess_5c1d9e'],
      [{ ...data, status: 'constructor' }, 'kyc_sess_5c1d9e'],
    ];
    for (const [i, [payloadData, subject]] of cases.entries()) {
      const reply = await herald.postSigned(sources.legaltalent, { ...processed, id: `evt_obj_${i}`, data: payloadData });
      assert.equal(reply.status, 200, `case ${i}: ${reply.body}`);
      const stored = (await herald.store.listEvents()).find((e) => e.providerEventId === `evt_obj_${i}`);
      assert.ok(stored, `case ${i} stored`);
      assert.equal(stored.subject, subject, `case ${i}`);
      assert.equal(stored.outcome, i < 3 ? 'approved' : 'completed', `case ${i}`);
      assert.deepEqual(stored.data.data, payloadData, 'the payload is stored as sent');
    }
  });

  it('refuses a number beyond a double (1e400, -1e400) with 422 and stores nothing, instead of storing null', async () => {
    const processed = loadSample('legaltalent', 'kyc.session.processed');
    for (const [i, number] of ['1e400', '-1e400', '1E+309'].entries()) {
      const text = JSON.stringify({ ...processed, id: `evt_big_${i}` }).replace('"risk_score":42', `"risk_score":${number}`);
      assert.ok(text.includes(number));
      const request = signedRequest(sources.legaltalent, Buffer.from(text));
      const reply = await herald.post('legaltalent', request.body, request.headers);
      assert.equal(reply.status, 422, number);
    }
    // The largest double is a number like any other.
    const text = JSON.stringify({ ...processed, id: 'evt_max' }).replace('"risk_score":42', '"risk_score":1.7976931348623157e308');
    const request = signedRequest(sources.legaltalent, Buffer.from(text));
    assert.equal((await herald.post('legaltalent', request.body, request.headers)).status, 200);
    const events: NormalizedEvent[] = await herald.store.listEvents();
    assert.deepEqual(
      events.map((e) => e.providerEventId),
      ['evt_max'],
    );
    assert.equal((events[0]!.data.data as { risk_score: number }).risk_score, 1.7976931348623157e308);
  });
});
