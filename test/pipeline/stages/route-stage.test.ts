/**
 * The route stage routes each event on its own (issue 13, item 1): a batch
 * whose write fails because of one event is written again event by event, and
 * the event whose deliveries cannot be stored is marked routed with none and
 * the error, instead of the stage fetching the same batch for ever. The store
 * is a real SQLite store; only its markRouted refuses one event's deliveries,
 * standing in for a write that fails on that event's values.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { HeraldMetrics } from '../../../src/pipeline/mechanisms/metrics.js';
import { RouteStage } from '../../../src/pipeline/stages/route.js';
import { EVENT_PROVIDERS } from '../../../src/providers/registry.js';
import { loadRouting } from '../../../src/app/setup.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { EventRouting, RoutingError } from '../../../src/store/store.js';
import { testConfig } from '../../helpers/config.js';
import { event } from '../../store/contract.js';

const { routing } = loadRouting(
  testConfig('sqlite::memory:', {
    rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
    destinations: {
      hook: { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
    },
  }),
);

describe('the route stage', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('marks an event whose deliveries cannot be stored routed with none and the error; the rest of its batch is routed', async () => {
    const events = [event(), event(), event()];
    for (const e of events) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
    const poisoned = events[1]!.id;
    const markRouted = store.markRouted.bind(store);
    store.markRouted = (routings: EventRouting[]) =>
      routings.some((r) => r.eventId === poisoned && r.deliveries.length > 0)
        ? Promise.reject(new Error('CHECK constraint failed: message'))
        : markRouted(routings);
    const metrics = new HeraldMetrics();
    const reported: Array<[string, RoutingError]> = [];
    const stage = new RouteStage({
      store,
      routing: () => routing,
      providers: EVENT_PROVIDERS,
      log: silentLogger(),
      metrics,
      onRoutingError: (eventId, error) => reported.push([eventId, error]),
    });

    assert.equal(await stage.routeOnce(), 3);
    assert.deepEqual(await store.unroutedEvents(10), []);
    for (const e of events) {
      const deliveries = await store.listDeliveries({ eventId: e.id });
      assert.equal(deliveries.length, e.id === poisoned ? 0 : 1);
    }
    const errors = await store.routingErrors(poisoned);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.rule, null);
    assert.match(errors[0]!.error, /^its deliveries could not be stored: Error: CHECK constraint failed/);
    assert.deepEqual(reported, [[poisoned, errors[0]]]);
    assert.deepEqual(await store.routingErrors(events[0]!.id), []);
    assert.match(await metrics.registry.metrics(), /^herald_routing_errors_total\{rule=""\} 1$/m);
  });

  it('lets a failure of the store itself (every write fails) fail the batch, to be tried again', async () => {
    const e = event();
    await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
    let writes = 0;
    store.markRouted = () => {
      writes++;
      return Promise.reject(new Error('disk I/O error'));
    };
    const stage = new RouteStage({ store, routing: () => routing, providers: EVENT_PROVIDERS, log: silentLogger() });
    await assert.rejects(stage.routeOnce(), /disk I\/O error/);
    assert.equal(writes, 2, 'the event, then the event without its deliveries: then it gives up');
    assert.equal((await store.unroutedEvents(10)).length, 1);
  });
});
