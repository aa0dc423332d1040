/** The SQLite store: the shared contract, plus what only an embedded, single-owner file does. */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createMigratedSqliteFile, storeDir, tempDir } from '../helpers/herald.js';
import { attempt, delivery, event, GROUP_WAIT_MS, groupEntry, newEvent, storeContract } from './contract.js';

let contractDir: string | undefined;
let contractStore: SqliteStore | undefined;
storeContract('SqliteStore', {
  shared: false,
  async open() {
    contractDir = storeDir();
    await createMigratedSqliteFile(path.join(contractDir, 'herald.db'));
    contractStore = new SqliteStore(path.join(contractDir, 'herald.db'));
    await contractStore.migrate();
    return contractStore;
  },
  async dispose() {
    await contractStore?.close();
    if (contractDir) rmSync(contractDir, { recursive: true, force: true });
    contractStore = contractDir = undefined;
  },
});

describe('SqliteStore', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = tempDir();
    file = path.join(dir, 'herald.db');
    store = new SqliteStore(file);
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records each migration once in schema_migrations', async () => {
    assert.equal(await store.migrate(), SQLITE_MIGRATIONS.length);
    const db = new Database(file, { readonly: true });
    assert.deepEqual(
      db.prepare('SELECT version FROM schema_migrations').all(),
      SQLITE_MIGRATIONS.map((_, i) => ({ version: i + 1 })),
    );
    db.close();
  });

  it('commits concurrent writes together (group commit), not one transaction each', async () => {
    const before = store.commitStats();
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.insertEvent(newEvent(`k${i}`))));
    assert.equal(results.filter((r) => r.status === 'stored').length, 200);
    assert.equal(await store.countEvents(), 200);
    const commits = store.commitStats().commits - before.commits;
    assert.ok(commits >= 1 && commits <= 2, `expected 200 writes in at most 2 commits, got ${commits}`);
  });

  it('waits for the disk when storing events and routing them, not when recording attempts; claims write nothing', async () => {
    const e = event();
    const writes = async (write: () => Promise<unknown>) => {
      const before = store.commitStats();
      await write();
      const after = store.commitStats();
      return { commits: after.commits - before.commits, durable: after.durableCommits - before.durableCommits };
    };
    assert.deepEqual(await writes(() => store.insertEvent({ event: e, dedupeKey: 'd1', dedupeUntilMs: Date.now() + 60_000 })), { commits: 1, durable: 1 });
    const [d, d2] = [delivery(), delivery()];
    assert.deepEqual(await writes(() => store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [d, d2] }])), { commits: 1, durable: 1 });
    const claim = () => store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'me', claimTtlMs: 60_000, now: Date.now() });
    assert.deepEqual(await writes(claim), { commits: 0, durable: 0 }, 'a claim lives in memory: one process owns the file');
    assert.deepEqual(await writes(() => store.completeAttempt('me', attempt(d.id), { status: 'delivered' })), { commits: 1, durable: 0 });
    assert.equal((await store.getDelivery(d.id))?.status, 'delivered');
    // A batch that mixes both waits for the disk: the event in it is acknowledged as stored.
    const [claimed] = await claim();
    const other = event();
    assert.deepEqual(
      await writes(() =>
        Promise.all([
          store.completeAttempt('me', attempt(claimed!.id), { status: 'delivered' }),
          store.insertEvent({ event: other, dedupeKey: 'd2', dedupeUntilMs: Date.now() + 60_000 }),
        ]),
      ),
      { commits: 1, durable: 1 },
    );
  });

  it('routes an event in the write that stores it, with its batch entries; a routing that throws fails that write alone', async () => {
    const e = event();
    const d = delivery();
    const now = Date.now();
    const entry = groupEntry(now);
    const before = store.commitStats();
    const [stored, failed] = await Promise.allSettled([
      store.insertEvent({
        event: e,
        dedupeKey: 'k1',
        dedupeUntilMs: Date.now() + 60_000,
        route: () => ({ eventId: e.id, rulesVersion: 'v1', deliveries: [d], batched: [entry] }),
      }),
      store.insertEvent({
        ...newEvent('k2'),
        route: () => {
          throw new Error('routing broke');
        },
      }),
    ]);
    assert.equal(stored.status === 'fulfilled' && stored.value.status, 'stored');
    assert.match(String(failed.status === 'rejected' && failed.reason), /routing broke/);
    assert.equal(store.commitStats().commits - before.commits, 1, 'one commit for both, the failed write undone alone');
    assert.equal((await store.listDeliveries({ eventId: e.id })).length, 1);
    const [batch, ...others] = await store.claimDueBatches({ limit: 10, claimant: 'b', claimTtlMs: 60_000, now: now + GROUP_WAIT_MS });
    assert.deepEqual([batch?.eventIds, others], [[e.id], []]);
    assert.equal(await store.countEvents(), 1);
    assert.equal((await store.insertEvent(newEvent('k2'))).status, 'stored', 'the failed write left no dedupe key behind');
  });

  it('rejects every write of a batch with StoreUnavailableError when the database stays locked, and stores none', async () => {
    // Each write waits 100 ms for the lock, not the default 1 s.
    store.setBusyTimeout(100);
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const writes = Array.from({ length: 5 }, (_, i) => store.insertEvent(newEvent(`locked${i}`)));
      for (const write of writes) await assert.rejects(write, StoreUnavailableError);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    assert.equal(await store.countEvents(), 0);
    // And it recovers by itself once the lock is gone.
    const after = await store.insertEvent(newEvent('locked0'));
    assert.equal(after.status, 'stored');
  });
});
