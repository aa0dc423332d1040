/**
 * Moving from SQLite to PostgreSQL: `herald store copy` carries every event
 * with its dedupe key, routing, deliveries and attempts across, can be run
 * again, and copyStore goes the other way too. Needs PostgreSQL.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { copyStore } from '../../src/store/copy.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { runHerald } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { attempt, delivery, event, newEvent } from './contract.js';

/** What a store holds, as its readers see it. */
async function contents(store: Store) {
  const deliveries = await store.listDeliveries({ limit: 10_000 });
  const events = await store.listEvents({ limit: 10_000 });
  return {
    events,
    routingErrors: await Promise.all(events.map((e) => store.routingErrors(e.id))),
    unrouted: (await store.unroutedEvents(10_000)).map((e) => e.id),
    deliveries,
    attempts: await Promise.all(deliveries.map((d) => store.listAttempts(d.id))),
  };
}

/** A store with a bit of everything: routed and unrouted events, one waiting for enrichment, every delivery state, attempts, claims, a taken-over key. */
async function fill(store: Store): Promise<{ keyed: string }> {
  const now = Date.now();
  const routed = event('kyc', { subject: 'a\u0000b', data: { note: 'comma, "quote"\nnewline', empty: '' } });
  await store.insertEvent({ event: routed, dedupeKey: 'k,1"', dedupeUntilMs: now + 3_600_000 });
  const expired = newEvent('reused', { dedupeUntilMs: now - 1 });
  await store.insertEvent(expired);
  await store.insertEvent(newEvent('reused')); // takes the expired key over: `expired` keeps no key
  await store.insertEvent(newEvent('waits-for-enrichment', { enrichDueAtMs: now + 60_000 })); // not routable until enriched
  await store.markRouted([
    {
      eventId: routed.id,
      rulesVersion: 'v1',
      deliveries: [delivery(), delivery(), { ...delivery(), message: null, status: 'dead', error: 'render-failed: x' }],
    },
    {
      eventId: expired.event.id,
      rulesVersion: 'v1',
      deliveries: [],
      errors: [
        { rule: 'r', error: 'TypeError: x' },
        { rule: null, error: 'Error: y' },
      ],
    },
  ]);
  const later = Date.now();
  const [first, second] = await store.claimDueDeliveries({ destination: 'hook', limit: 2, claimant: 'a', claimTtlMs: 60_000, now: later });
  await store.completeAttempt(
    'a',
    { ...attempt(first!.id), outcome: 'retry', status: 500, reason: 'server-error', error: 'HTTP 500', responseExcerpt: '' },
    { status: 'pending', nextAttemptAt: now - 1000 },
  );
  await store.completeAttempt('a', attempt(second!.id), { status: 'delivered' });
  await store.retryDelivery(first!.id, later); // its retriedAt comes along
  await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'b', claimTtlMs: 60_000, now: later });
  return { keyed: routed.id };
}

describe('copying a store (SQLite to PostgreSQL)', function () {
  this.timeout(30_000);
  let dir: string;
  let schema: TestSchema | undefined;
  const open: Store[] = [];

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
    await schema?.drop();
    schema = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('herald store copy carries everything across, leaves claims behind, and copies only what is new when run again', async () => {
    const file = path.join(dir, 'herald.db');
    const sqlite = new SqliteStore(file);
    await sqlite.migrate();
    const { keyed } = await fill(sqlite);
    const expected = await contents(sqlite);
    await sqlite.close();
    schema = await createTestSchema({ create: false });

    // A process of its own, as a user runs it: it exits when done, its PostgreSQL connections closed.
    const first = await runHerald(['store', 'copy', '--from', `sqlite:${file}`, '--to', schema.url], {}, { process: true });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^copied 4 events \(0 were already there\)$/m);

    const postgres = new PostgresStore(schema.url);
    open.push(postgres);
    assert.deepEqual(await contents(postgres), expected);
    assert.deepEqual(await postgres.insertEvent(newEvent('k,1"', {}, 'kyc')), { status: 'duplicate', id: keyed });
    assert.equal((await postgres.insertEvent(newEvent('reused'))).status, 'duplicate');
    const due = await postgres.claimDueDeliveries({ destination: 'hook', limit: 10, claimant: 'new', claimTtlMs: 1000, now: Date.now() });
    assert.equal(due.length, 1, 'the pending delivery, claimed in the old store, is due at once in the new one');
    const toEnrich = await postgres.claimEventsToEnrich({ limit: 10, leaseMs: 1000, now: Date.now() + 60_000 });
    assert.equal(toEnrich.length, 1, 'the event waiting for enrichment still waits, due as it was');

    const again = await runHerald(['store', 'copy', '--from', `sqlite:${file}`, '--to', schema.url]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^copied 0 events \(4 were already there\)$/m);
  });

  it('copies PostgreSQL back into SQLite just the same', async () => {
    schema = await createTestSchema();
    const postgres = new PostgresStore(schema.url);
    const sqlite = new SqliteStore(path.join(dir, 'back.db'));
    open.push(postgres, sqlite);
    await postgres.migrate();
    await sqlite.migrate();
    await fill(postgres);
    const copied = await copyStore(postgres, sqlite, { batchSize: 2 });
    assert.deepEqual(copied, { events: 4, added: 4 });
    assert.deepEqual(await contents(sqlite), await contents(postgres));
  });
});
