/**
 * How processes sharing a PostgreSQL store tell dead from slow
 * (src/store/postgres/liveness-lock.ts): a serving process's claims are
 * never released while its liveness lock is held; a claimant without one
 * (dead) has its claims given back at once; a process whose lock's session
 * was cut claims nothing until it has the lock again; locks are per schema.
 * Several PostgresStore instances stand in for several processes.
 */
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { createMigratedTestSchema, type MigratedTestSchema, type TestSchema } from '../helpers/postgres.js';
import { waitUntil } from '../helpers/sinks.js';
import { delivery, event } from './contract.js';

const LONG = 3_600_000;

describe('PostgresStore: taking over the claims of dead processes', function () {
  this.timeout(30_000);
  // Two schemas migrated once, emptied after each test (a test uses one, or both).
  const migrated: MigratedTestSchema[] = [];
  let used = 0;
  const stores: PostgresStore[] = [];
  before(async () => {
    migrated.push(...(await Promise.all([createMigratedTestSchema(), createMigratedTestSchema()])));
  });
  after(async () => {
    await Promise.all(migrated.splice(0).map((s) => s.drop()));
  });
  const open = async (schema: TestSchema) => {
    const store = new PostgresStore(schema.url);
    stores.push(store);
    await store.migrate();
    return store;
  };
  const schema = async () => migrated[used++]!;
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(migrated.slice(0, used).map((s) => s.empty()));
    used = 0;
  });

  /** Stores and routes an event with one delivery to `hook`; returns the delivery's id. */
  async function routedDelivery(store: PostgresStore): Promise<string> {
    const e = event();
    const d = delivery();
    await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [d] }]);
    return d.id;
  }
  const claim = (store: PostgresStore, claimant: string) =>
    store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant, claimTtlMs: LONG, now: Date.now() });

  it('releases the claims and reservations of a claimant without a lock, never those of a live one', async () => {
    const db = await schema();
    const [live, other, ghost] = [await open(db), await open(db), await open(db)];
    await live.startServing('live-process');
    await other.startServing('other-process');
    const mine = await routedDelivery(live);
    const dead = await routedDelivery(live);
    const unrouted = event();
    await live.insertEvent({ event: unrouted, dedupeKey: unrouted.id, dedupeUntilMs: Date.now() + 60_000 });

    assert.deepEqual(
      (await claim(live, 'live-process')).map((d) => d.id),
      [mine],
    );
    // `ghost` never took a lock: it stands for a process that died holding a claim and a reservation.
    assert.deepEqual(
      (await claim(ghost, 'ghost-process')).map((d) => d.id),
      [dead],
    );
    assert.deepEqual(
      (await ghost.unroutedEvents(10)).map((e) => e.id),
      [unrouted.id],
    );
    assert.deepEqual(await claim(other, 'other-process'), [], 'every delivery is claimed');
    assert.deepEqual(await other.unroutedEvents(10), [], 'the event is reserved');

    assert.equal(await other.releaseClaimsOfDeadProcesses(), 2);
    assert.deepEqual(
      (await claim(other, 'other-process')).map((d) => d.id),
      [dead],
    );
    assert.deepEqual(
      (await other.unroutedEvents(10)).map((e) => e.id),
      [unrouted.id],
    );
    assert.equal(await other.releaseClaimsOfDeadProcesses(), 0, 'the live claims stay');
    assert.equal((await db.query<{ claimed_by: string }>('SELECT claimed_by FROM deliveries WHERE id = $1', [mine]))[0]!.claimed_by, 'live-process');
  });

  it('gives a process whose lock session is cut no claims until it holds the lock again', async () => {
    const db = await schema();
    const victim = await open(db);
    await victim.startServing('victim-process');
    await routedDelivery(victim);
    assert.equal((await claim(victim, 'victim-process')).length, 1);

    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'herald liveness' AND query LIKE '%pg_try_advisory_lock%'
      AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = hashtext('victim-process')::oid)`);
    // Meanwhile the others may take its claims over (its sends would be repeated), so it claims nothing more...
    let refused: unknown;
    await waitUntil(
      () =>
        claim(victim, 'victim-process').then(
          () => false,
          (error: unknown) => ((refused = error), true),
        ),
      5_000,
      'claims to be refused',
    );
    assert.ok(refused instanceof StoreUnavailableError);
    // ...until it has taken its lock again, by itself (after a second).
    await waitUntil(
      () =>
        claim(victim, 'victim-process').then(
          () => true,
          () => false,
        ),
      10_000,
      'the lock to be taken again',
    );
  });

  it('keys the locks by schema: a lock in another schema keeps no claimant alive here', async () => {
    const [here, there] = [await schema(), await schema()];
    const [store, holder] = [await open(here), await open(there)];
    await holder.startServing('same-name');
    await routedDelivery(store);
    assert.equal((await claim(store, 'same-name')).length, 1);
    assert.equal(await store.releaseClaimsOfDeadProcesses(), 1);
  });
});
