/**
 * A replay that asks FaceSign again (pipeline/operator/replay.ts with
 * `refreshSession`), on SQLite and PostgreSQL, against a stand-in for
 * FaceSign's session API (a real HTTP server on 127.0.0.1): without the option
 * FaceSign is not called; with it each session is fetched once, the new
 * deliveries are routed and rendered with the fresh session, and the stored
 * event shows it; when the API fails the events are replayed with the session
 * they have and the failure is reported, without the key; a dry run fetches
 * and stores nothing. Events of other providers and types are left alone.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadRouting } from '../../../src/app/setup.js';
import { SessionApiClient } from '../../../src/channels/session-api.js';
import type { SourceConfig } from '../../../src/core/config.js';
import type { NormalizedEvent } from '../../../src/core/event.js';
import { replayEvents, replayPage } from '../../../src/pipeline/operator/replay.js';
import type { SessionRefresh } from '../../../src/pipeline/operator/session-refresh.js';
import { SessionLookups } from '../../../src/pipeline/stages/session-lookup.js';
import { EVENT_PROVIDERS } from '../../../src/providers/registry.js';
import type { Store } from '../../../src/store/store.js';
import { SHIPPED_TEMPLATES_DIR, testConfig, testSource } from '../../helpers/config.js';
import { tempDir } from '../../helpers/herald.js';
import { startHttpSink, type HttpSink, type Replier } from '../../helpers/sinks.js';
import { event } from '../../store/contract.js';
import { STORE_KINDS, type StoreHarness } from '../../helpers/store-harness.js';

const API_KEY = 'sk_test_ReplayKEY52vN';

/** Every event to the hook; completed sessions also to a rule of their own, which fires only with the fresh status. */
const RULES = `
- name: everything-to-hook
  notify: [{ to: hook, template: session-finished }]
- name: completed-sessions
  match: { provider: facesign, session.status: complete }
  notify: [{ to: hook, template: session-finished }]
`;

function routingFor(): ReturnType<typeof loadRouting>['routing'] {
  const rulesDir = tempDir('herald-rules-');
  writeFileSync(path.join(rulesDir, 'rules.yaml'), RULES);
  return loadRouting(
    testConfig('sqlite::memory:', {
      rulesDir,
      templatesDir: SHIPPED_TEMPLATES_DIR,
      destinations: {
        hook: { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
      },
    }),
  ).routing;
}

const sessionIdOf = (urlPath: string) => decodeURIComponent(urlPath.split('/').at(-1)!);
/** FaceSign's answer: every session is now complete. */
const answersComplete: Replier = (req) => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ session: { id: sessionIdOf(req.path), status: 'complete', report: { isVerified: true, livenessDetected: true } } }),
});

for (const [name, harness] of STORE_KINDS) {
  describe(`replay asking FaceSign for the session again: ${name}`, function () {
    this.timeout(20_000);
    const routing = routingFor();
    const since = new Date(Date.now() - 3_600_000).toISOString();
    let api: HttpSink;
    let store: Store;
    let stores: StoreHarness;
    let lookups: SessionLookups;
    let sessions: SessionRefresh;
    /** What is stored before each replay: sess_A has two enriched events, sess_B one; a photo and a KYC event are not enriched. */
    let stored: Record<'statusA' | 'analysisA' | 'statusB' | 'photo' | 'kyc', NormalizedEvent>;

    before(async () => {
      api = await startHttpSink(answersComplete);
    });
    after(() => api.close());

    beforeEach(async () => {
      api.requests.length = 0;
      api.reply = answersComplete;
      stores = harness();
      store = await stores.open();
      const source: SourceConfig = testSource('facesign', 'facesign', {
        api: {
          url: `${api.url}/v1`,
          key: API_KEY,
          enrich: ['session.status', 'analysis.*'],
          timeoutMs: 2000,
          giveUpAfterMs: 60_000,
          rate: '100/s',
          allowPrivateNetwork: true,
        },
      });
      lookups = new SessionLookups((settings) => new SessionApiClient(settings), Date.now);
      sessions = { sources: () => ({ facesign: source, kyc: testSource('kyc', 'legaltalent') }), lookups };
      const enrichedWith = (status: string) => ({
        session: { id: 'sess', status, report: { isVerified: false, livenessDetected: true } },
        enrichment: { fetchedAt: new Date(Date.now() - 60_000).toISOString(), attempts: 1, error: null },
      });
      stored = {
        statusA: event('facesign', { subject: 'sess_A', type: 'session.status', outcome: 'started', ...enrichedWith('inProgress') }),
        analysisA: event('facesign', { subject: 'sess_A', type: 'analysis.video', category: 'analysis', ...enrichedWith('inProgress') }),
        statusB: event('facesign', { subject: 'sess_B', type: 'session.status', outcome: 'started', ...enrichedWith('inProgress') }),
        photo: event('facesign', { subject: 'sess_A', type: 'media.user_photo', category: 'media' }),
        kyc: event('kyc', { provider: 'legaltalent', subject: 'kyc_1', type: 'kyc.session.approved', outcome: 'approved' }),
      };
      for (const e of Object.values(stored)) {
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
      }
    });
    afterEach(async () => {
      await lookups.close();
      await stores.dispose();
    });

    /** The new deliveries' events, as their webhook bodies carry them, by event id and rule. */
    async function deliveredEvents(): Promise<Map<string, NormalizedEvent>> {
      const bodies = new Map<string, NormalizedEvent>();
      for (const e of Object.values(stored)) {
        for (const d of await store.listDeliveries({ eventId: e.id })) {
          if (d.message?.channel !== 'webhook') throw new Error('expected webhook messages');
          bodies.set(`${e.id} ${d.rule}`, (d.message.body as { data: NormalizedEvent }).data);
        }
      }
      return bodies;
    }

    it('without the option: FaceSign is not called, the stored session is routed', async () => {
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since }, Date.now(), sessions);
      assert.equal(api.requests.length, 0);
      assert.equal(page.sessions, undefined);
      assert.deepEqual(page.byRule, { 'everything-to-hook': 5 });
      assert.equal((await deliveredEvents()).get(`${stored.statusA.id} everything-to-hook`)!.session!.status, 'inProgress');
    });

    it('with refreshSession: one call per session; the deliveries are routed and rendered with the fresh session, which is stored', async () => {
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, refreshSession: true }, Date.now(), sessions);

      assert.deepEqual(api.requests.map((r) => r.path).sort(), ['/v1/sessions/sess_A', '/v1/sessions/sess_B']);
      assert.ok(api.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`));
      assert.deepEqual(page.sessions, { refreshed: 2, failed: [] });
      // The fresh status fired the rule the stored one did not, for the enriched events only (the photo is not enriched).
      assert.deepEqual(page.byRule, { 'everything-to-hook': 5, 'completed-sessions': 3 });
      const delivered = await deliveredEvents();
      for (const e of [stored.statusA, stored.analysisA, stored.statusB]) {
        for (const rule of ['everything-to-hook', 'completed-sessions']) {
          const body = delivered.get(`${e.id} ${rule}`)!;
          assert.equal(body.session!.status, 'complete', `${e.type} of ${e.subject}, rule ${rule}`);
          assert.equal(body.enrichment!.error, null);
        }
        const now = (await store.getEvent(e.id))!;
        assert.equal(now.session!.status, 'complete');
        assert.deepEqual(now.session!.report, { isVerified: true, livenessDetected: true });
        assert.equal(now.enrichment!.attempts, 2);
        assert.ok(Date.parse(now.enrichment!.fetchedAt!) > Date.parse(e.enrichment!.fetchedAt!));
      }
      // session.status takes its outcome from the session, in the filters too.
      assert.equal(delivered.get(`${stored.statusA.id} completed-sessions`)!.outcome, 'completed');
      assert.deepEqual((await store.listEvents({ outcome: 'completed' })).map((e) => e.id).sort(), [stored.statusA.id, stored.statusB.id].sort());
      // Not enriched, or another provider: as they were.
      assert.deepEqual(await store.getEvent(stored.photo.id), stored.photo);
      assert.deepEqual(await store.getEvent(stored.kyc.id), stored.kyc);
      assert.equal(delivered.get(`${stored.photo.id} completed-sessions`), undefined);
    });

    it('replays one event with refreshSession: says the session was refreshed', async () => {
      const [replayed] = await replayEvents(store, [stored.statusB], routing, EVENT_PROVIDERS, { refreshSession: true, sessions });
      assert.deepEqual(replayed!.sessionRefresh, { refreshed: true });
      assert.deepEqual(
        replayed!.deliveries.map((d) => d.rule),
        ['everything-to-hook', 'completed-sessions'],
      );
      assert.equal(api.requests.length, 1);
      assert.equal((await store.getEvent(stored.statusB.id))!.session!.status, 'complete');
      const [kyc] = await replayEvents(store, [stored.kyc], routing, EVENT_PROVIDERS, { refreshSession: true, sessions });
      assert.equal(kyc!.sessionRefresh, undefined, 'no session to refresh for another provider');
      assert.equal(api.requests.length, 1);
    });

    it('when FaceSign fails: the events are replayed with the session stored, the failure reported without the key', async () => {
      api.reply = (req) =>
        sessionIdOf(req.path) === 'sess_A'
          ? { status: 503, body: JSON.stringify({ error: { type: 'api_error', message: `down for ${API_KEY}` } }) }
          : answersComplete(req, 0);
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, refreshSession: true }, Date.now(), sessions);

      assert.equal(api.requests.length, 2, 'one try per session: a replay does not retry');
      assert.equal(page.sessions!.refreshed, 1);
      assert.deepEqual(page.sessions!.failed, [
        { source: 'facesign', sessionId: 'sess_A', eventIds: [stored.statusA.id, stored.analysisA.id], error: 'the FaceSign API answered HTTP 503 api_error' },
      ]);
      assert.ok(!JSON.stringify(page).includes(API_KEY));
      const delivered = await deliveredEvents();
      assert.equal(delivered.get(`${stored.statusA.id} everything-to-hook`)!.session!.status, 'inProgress');
      assert.equal(delivered.get(`${stored.statusA.id} completed-sessions`), undefined);
      assert.deepEqual(await store.getEvent(stored.statusA.id), stored.statusA);
      assert.deepEqual(await store.getEvent(stored.analysisA.id), stored.analysisA);
      // The other session was fetched and stored all the same.
      assert.equal((await store.getEvent(stored.statusB.id))!.session!.status, 'complete');

      // An API that is not there at all (a port nobody listens on any more): the same, with the reason.
      const gone = await startHttpSink();
      await gone.close();
      const facesign = sessions.sources().facesign!;
      const unreachable = { ...sessions, sources: () => ({ facesign: { ...facesign, api: { ...facesign.api!, url: gone.url } } }) };
      const [replayed] = await replayEvents(store, [stored.statusA], routing, EVENT_PROVIDERS, { refreshSession: true, sessions: unreachable });
      assert.equal(replayed!.sessionRefresh!.refreshed, false);
      const { error } = replayed!.sessionRefresh as { error: string };
      assert.match(error, /FaceSign API/);
      assert.ok(!error.includes(API_KEY));
      assert.deepEqual(await store.getEvent(stored.statusA.id), stored.statusA);
    });

    it("paces the calls by the source's api.rate: a call held back waits its turn (on the lookups' clock) and is no failure", async () => {
      let clock = Date.parse('2026-12-03T09:00:00.000Z');
      const facesign = sessions.sources().facesign!;
      const slow = { ...facesign, api: { ...facesign.api!, rate: '1/s' } };
      const paced: SessionRefresh = {
        sources: () => ({ facesign: slow }),
        lookups: new SessionLookups(
          (settings) => new SessionApiClient(settings),
          () => clock,
        ),
        sleep: async (ms) => {
          clock += ms;
        },
      };
      try {
        const start = clock;
        const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, refreshSession: true, dryRun: true }, Date.now(), paced);
        assert.deepEqual(page.sessions, { refreshed: 2, failed: [] });
        assert.equal(api.requests.length, 2);
        // Two sessions at one call a second: the second call waited a second for its turn.
        assert.ok(clock - start >= 1000, `waited ${clock - start} ms`);
      } finally {
        await paced.lookups.close();
      }
    });

    it('a dry run with refreshSession fetches, plans with the fresh session, and stores nothing', async () => {
      const page = await replayPage(store, routing, EVENT_PROVIDERS, { since, refreshSession: true, dryRun: true }, Date.now(), sessions);
      assert.equal(api.requests.length, 2);
      assert.deepEqual(page.sessions, { refreshed: 2, failed: [] });
      assert.deepEqual(page.byRule, { 'everything-to-hook': 5, 'completed-sessions': 3 });
      for (const e of Object.values(stored)) {
        assert.deepEqual(await store.getEvent(e.id), e);
        assert.deepEqual(await store.listDeliveries({ eventId: e.id }), []);
      }
    });
  });
}
