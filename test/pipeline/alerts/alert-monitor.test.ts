/**
 * The periodic alert checks against a real SQLite store: stale queues and new
 * dead letters each raise one alert per destination, however often checked.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { AlertsConfig } from '../../../src/core/config.js';
import { silentLogger } from '../../../src/core/log.js';
import { AlertMonitor } from '../../../src/pipeline/alerts/alert-monitor.js';
import { AlertRaiser } from '../../../src/pipeline/alerts/alert-raiser.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { attempt, delivery, event } from '../../store/contract.js';
import { ALERT_DEFAULTS } from '../../helpers/config.js';
import { tempDir } from '../../helpers/herald.js';

const MINUTE = 60_000;

describe('the alert monitor', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = tempDir();
    store = new SqliteStore(path.join(dir, 'herald.db'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A routed event with one pending delivery (due now) to each destination; returns the delivery ids. */
  async function queued(...destinations: string[]): Promise<string[]> {
    const e = event();
    const deliveries = destinations.map((d) => delivery(d));
    await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + MINUTE });
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v', deliveries }]);
    return deliveries.map((d) => d.id);
  }

  /** Claims one delivery of the destination and records the verdict. */
  async function attemptOne(destination: string, verdict: { status: 'dead' } | { status: 'pending'; nextAttemptAt: number }): Promise<void> {
    const [claimed] = await store.claimDueDeliveries({ destination, limit: 1, claimant: 'w', claimTtlMs: MINUTE, now: Date.now() });
    const outcome = verdict.status === 'dead' ? 'dead' : 'retry';
    assert.ok(await store.completeAttempt('w', { ...attempt(claimed!.id), outcome, status: 500, reason: 'server-error', error: 'HTTP 500' }, verdict));
  }

  function monitor(settings: Partial<AlertsConfig> = {}, options: { paused?: string[]; clockAheadMs?: number } = {}) {
    const now = () => Date.now() + (options.clockAheadMs ?? 0);
    const raiser = new AlertRaiser({ store, log: silentLogger(), everyMs: () => 3_600_000, now });
    return new AlertMonitor({
      store,
      raiser,
      settings: () => ({ ...ALERT_DEFAULTS, ...settings }),
      paused: () => options.paused ?? [],
      log: silentLogger(),
      now,
    });
  }

  const alerts = async () => (await store.listEvents({ source: 'herald' })).map((e) => `${e.type} ${e.subject}`);

  it('raises herald.queue.stale once for a destination whose oldest due delivery waited queueAge, except a paused one', async () => {
    await queued('slow', 'slow', 'paused', 'retrying');
    await attemptOne('retrying', { status: 'pending', nextAttemptAt: Date.now() + 60 * MINUTE }); // waiting for its retry, not due
    const sixteenMinutesLater = monitor({}, { paused: ['paused'], clockAheadMs: 16 * MINUTE });
    for (let i = 0; i < 3; i++) await sixteenMinutesLater.checkOnce();
    assert.deepEqual(await alerts(), ['herald.queue.stale slow']);
    const [stale] = await store.listEvents({ source: 'herald' });
    assert.equal(stale!.data.pending, 2);
    assert.ok((stale!.data.waitedMs as number) >= 16 * MINUTE);
    assert.equal(stale!.data.thresholdMs, 15 * MINUTE);
  });

  it('leaves a queue alone that has not waited queueAge yet', async () => {
    await queued('slow');
    await monitor({}, { clockAheadMs: 14 * MINUTE }).checkOnce();
    assert.deepEqual(await alerts(), []);
  });

  it('raises herald.dead_letters once per destination for deliveries that went dead since the last look', async () => {
    await queued('crm', 'crm', 'crm', 'slack', 'before');
    await attemptOne('before', { status: 'dead' });
    await new Promise((r) => setTimeout(r, 300));
    const watching = monitor({ checkEveryMs: 100 });
    await watching.checkOnce();
    assert.deepEqual(await alerts(), [], 'a dead letter from before the first look back is old news');

    await attemptOne('crm', { status: 'dead' });
    await attemptOne('crm', { status: 'dead' });
    await attemptOne('slack', { status: 'dead' });
    await watching.checkOnce();
    await attemptOne('crm', { status: 'dead' });
    await watching.checkOnce();
    assert.deepEqual((await alerts()).sort(), ['herald.dead_letters crm', 'herald.dead_letters slack']);
    const crm = (await store.listEvents({ source: 'herald', subject: 'crm' }))[0]!;
    assert.equal(crm.data.count, 2);
    assert.equal(crm.data.latestError, 'server-error: HTTP 500');
  });

  it('raises nothing when alerts are off', async () => {
    await queued('slow');
    await attemptOne('slow', { status: 'dead' });
    await queued('slow');
    await monitor({ enabled: false }, { clockAheadMs: 16 * MINUTE }).checkOnce();
    assert.deepEqual(await alerts(), []);
  });
});
