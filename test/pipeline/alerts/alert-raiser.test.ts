/**
 * The alert raiser against real stores: one alert per type and destination
 * per `alerts.every`, in one process and across two sharing PostgreSQL.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { breakerOpenedAlert, queueStaleAlert } from '../../../src/pipeline/alerts/alert-event.js';
import { AlertRaiser } from '../../../src/pipeline/alerts/alert-raiser.js';
import { HeraldMetrics } from '../../../src/pipeline/mechanisms/metrics.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import { tempDir } from '../../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../../helpers/postgres.js';

const opened = (destination: string) =>
  breakerOpenedAlert(destination, { failures: 5, reason: 'server-error', status: 500, error: 'the webhook receiver answered HTTP 500', nextProbeInMs: 5000 });

function capturedLog() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write: (chunk, _enc, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  return { log, lines };
}

async function counter(metrics: HeraldMetrics, name: string): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name)!;
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.type} ${v.labels.destination}`, v.value]));
}

describe('the alert raiser', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = tempDir();
    store = new SqliteStore(path.join(dir, 'herald.db'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  const herald = (s: Store) => s.listEvents({ source: 'herald' });

  it('stores one alert per type and destination within `every`, and counts the rest as suppressed', async () => {
    const metrics = new HeraldMetrics();
    const { log, lines } = capturedLog();
    let woken = 0;
    const raiser = new AlertRaiser({ store, log, metrics, everyMs: () => 3_600_000, onRaised: () => woken++ });
    const outcomes = [];
    for (let i = 0; i < 50; i++) outcomes.push(await raiser.raise(opened('crm')));
    outcomes.push(await raiser.raise(opened('slack')));
    outcomes.push(await raiser.raise(queueStaleAlert('crm', { pending: 3, oldestDueAt: Date.now() - 1_000_000 }, 900_000, Date.now())));

    assert.deepEqual(outcomes.filter((o) => o === 'raised').length, 3);
    const events = await herald(store);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.subject}`),
      ['herald.breaker.opened crm', 'herald.breaker.opened slack', 'herald.queue.stale crm'],
    );
    assert.equal(woken, 3, 'the route stage is woken for each alert stored');
    assert.deepEqual(await counter(metrics, 'herald_alerts_total'), {
      'herald.breaker.opened crm': 1,
      'herald.breaker.opened slack': 1,
      'herald.queue.stale crm': 1,
    });
    assert.deepEqual(await counter(metrics, 'herald_alerts_suppressed_total'), { 'herald.breaker.opened crm': 49 });
    // One log line per alert raised, naming it; nothing else of the alert.
    const raised = lines.filter((l) => l.msg === 'operational alert raised');
    assert.deepEqual(
      raised.map((l) => [l.alert, l.destination, l.eventId]),
      events.map((e) => [e.type, e.subject, e.id]),
    );
    assert.deepEqual(Object.keys(raised[0]!).sort(), ['alert', 'destination', 'eventId', 'hostname', 'level', 'msg', 'pid', 'time']);
  });

  it('raises again once `every` has passed', async () => {
    const raiser = new AlertRaiser({ store, log: capturedLog().log, everyMs: () => 300 });
    assert.equal(await raiser.raise(opened('crm')), 'raised');
    assert.equal(await raiser.raise(opened('crm')), 'suppressed');
    await new Promise((r) => setTimeout(r, 350));
    assert.equal(await raiser.raise(opened('crm')), 'raised');
    assert.equal((await herald(store)).length, 2);
  });

  it('does not write at all while a key is quiet', async () => {
    const raiser = new AlertRaiser({ store, log: capturedLog().log, everyMs: () => 3_600_000 });
    assert.equal(await raiser.raise(opened('crm')), 'raised');
    await store.close();
    // A write would fail now and say so: suppressed means it was never tried.
    assert.equal(await raiser.raise(opened('crm')), 'suppressed');
  });

  it('logs an alert it cannot store and tries again on the next occasion', async () => {
    const { log, lines } = capturedLog();
    const raiser = new AlertRaiser({ store, log, everyMs: () => 3_600_000 });
    await store.close();
    assert.equal(await raiser.raise(opened('crm')), 'failed');
    assert.equal(await raiser.raise(opened('crm')), 'failed', 'a failed alert does not silence the next');
    assert.equal(lines.filter((l) => l.msg === 'could not store an operational alert; the next occasion tries again').length, 2);
  });

  it('stays quiet after a restart: the store remembers the last alert for `every`', async () => {
    assert.equal(await new AlertRaiser({ store, log: capturedLog().log, everyMs: () => 3_600_000 }).raise(opened('crm')), 'raised');
    const restarted = new AlertRaiser({ store, log: capturedLog().log, everyMs: () => 3_600_000 });
    assert.equal(await restarted.raise(opened('crm')), 'suppressed');
    await store.close();
    assert.equal(await restarted.raise(opened('crm')), 'suppressed', 'and, having asked once, it does not ask again within the window');
  });
});

describe('two alert raisers on one PostgreSQL schema (two herald processes)', function () {
  this.timeout(30_000);
  let schema: TestSchema;
  let stores: PostgresStore[];

  beforeEach(async () => {
    schema = await createTestSchema();
    stores = [new PostgresStore(schema.url), new PostgresStore(schema.url)];
    await stores[0]!.migrate();
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await schema.drop();
  });

  it('raise one alert between them, at the same moment or one after the other', async () => {
    const [a, b] = stores.map((store) => new AlertRaiser({ store, log: capturedLog().log, everyMs: () => 3_600_000 }));
    const together = await Promise.all([a!.raise(opened('crm')), b!.raise(opened('crm'))]);
    assert.deepEqual(together.sort(), ['raised', 'suppressed']);
    assert.equal(await b!.raise(opened('crm')), 'suppressed');
    assert.equal(await a!.raise(opened('crm')), 'suppressed');
    assert.deepEqual(
      (await stores[0]!.listEvents({ source: 'herald' })).map((e) => e.subject),
      ['crm'],
    );
    // Other destinations are alerts of their own.
    assert.equal(await b!.raise(opened('slack')), 'raised');
    assert.equal(await stores[1]!.countEvents({ source: 'herald' }), 2);
  });
});
