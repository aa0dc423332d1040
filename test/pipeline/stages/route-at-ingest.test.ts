/**
 * Ingest routes each event in the write that stores it, when this process
 * routes: the event, its deliveries and its routing reach the store in one
 * commit, and the route stage has nothing left to do for it. A routing that
 * fails there leaves the event stored and unrouted, for the route stage and
 * its fallbacks; a duplicate is not routed again. Real SQLite store and the
 * real route stage; the request is signed as FaceSign signs it.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { Ingest } from '../../../src/pipeline/stages/ingest.js';
import { RouteStage } from '../../../src/pipeline/stages/route.js';
import { EVENT_PROVIDERS, PROVIDERS } from '../../../src/providers/registry.js';
import { loadSample } from '../../../src/providers/samples.js';
import { loadRouting } from '../../../src/app/setup.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { EventRouting } from '../../../src/store/store.js';
import type { NormalizedEvent } from '../../../src/core/event.js';
import { testConfig, testSources } from '../../helpers/config.js';
import { signedRequest } from '../../helpers/herald.js';

const { routing } = loadRouting(
  testConfig('sqlite::memory:', {
    rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
    destinations: {
      hook: { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
    },
  }),
);
const source = testSources().facesign;

/** A signed FaceSign session.status request, headers named as Node reads them. */
function request(payload = PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now())) {
  const { body, headers } = signedRequest(source, payload);
  return { body, headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])) };
}

describe('routing at ingest', () => {
  let store: SqliteStore;
  let stage: RouteStage;
  let woken: { route: number; deliver: number };
  let plans: number;

  const ingest = (route: (event: NormalizedEvent) => EventRouting = (event) => (plans++, stage.planAtIngest(event))) =>
    new Ingest({
      sources: () => ({ facesign: source }),
      providers: PROVIDERS,
      store,
      onStored: () => woken.route++,
      route,
      onRouted: (routed) => stage.routedAtIngest(routed),
    });

  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
    woken = { route: 0, deliver: 0 };
    plans = 0;
    stage = new RouteStage({ store, routing: () => routing, providers: EVENT_PROVIDERS, log: silentLogger(), onRouted: () => woken.deliver++ });
  });
  afterEach(() => store.close());

  it('stores the event routed, with its delivery, in one commit, and wakes the deliver stage, not the route stage', async () => {
    const before = store.commitStats();
    const result = await ingest().receive('facesign', request());
    assert.equal(result.status, 'stored');
    assert.deepEqual(
      { commits: store.commitStats().commits - before.commits, durable: store.commitStats().durableCommits - before.durableCommits },
      { commits: 1, durable: 1 },
    );
    assert.deepEqual(await store.unroutedEvents(10), []);
    assert.deepEqual([...(await store.routedEventIds([result.id]))], [result.id]);
    const [delivery, ...more] = await store.listDeliveries({ eventId: result.id });
    assert.deepEqual(more, []);
    assert.equal(delivery!.destination, 'hook');
    assert.equal(delivery!.status, 'pending');
    assert.equal((delivery!.message as { body: { data: { id: string } } }).body.data.id, result.id, 'the message is rendered from the event');
    assert.deepEqual(woken, { route: 0, deliver: 1 });
    assert.equal(await stage.routeOnce(), 0, 'nothing is left for the route stage');
  });

  it('does not route a duplicate again', async () => {
    const sent = request();
    const first = await ingest().receive('facesign', sent);
    const again = await ingest().receive('facesign', sent);
    assert.deepEqual(again, { status: 'duplicate', id: first.id });
    assert.equal(plans, 1);
    assert.equal((await store.listDeliveries({ eventId: first.id })).length, 1);
    assert.deepEqual(woken, { route: 0, deliver: 1 });
  });

  it('stores the event unrouted when routing it fails there, and the route stage routes it', async () => {
    const failing = ingest(() => {
      throw new Error('routing broke');
    });
    const result = await failing.receive('facesign', request());
    assert.equal(result.status, 'stored');
    assert.deepEqual(
      (await store.unroutedEvents(10)).map((e) => e.id),
      [result.id],
    );
    assert.deepEqual(woken, { route: 1, deliver: 0 });
    assert.equal(await stage.routeOnce(), 1);
    assert.equal((await store.listDeliveries({ eventId: result.id })).length, 1);
    assert.deepEqual(woken, { route: 1, deliver: 1 });
  });
});
