/**
 * The write gate between the SQLite connections of one process (the main
 * thread's and the deliver thread's): while one commits, the other's writes
 * wait, without blocking its event loop, and commit as soon as it is free.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DELIVER_THREAD, WriteGate } from '../../src/store/sqlite/write-gate.js';
import { tempDir } from '../helpers/herald.js';
import { event } from './contract.js';

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('SQLite write gate', () => {
  let dir: string;
  let store: SqliteStore;
  let reader: Database.Database;

  beforeEach(async () => {
    dir = tempDir();
    store = new SqliteStore(path.join(dir, 'herald.db'));
    await store.migrate();
    reader = new Database(path.join(dir, 'herald.db'), { readonly: true });
  });
  afterEach(async () => {
    reader.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = () => (reader.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  const insert = () => {
    const e = event();
    return store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
  };

  it("holds this connection's writes while the other thread commits, and commits them together once it is done", async () => {
    const other = new WriteGate(store.gate.shared, DELIVER_THREAD);
    assert.ok(other.tryAcquire());
    let answered = 0;
    const writes = [insert(), insert(), insert()].map((w) => w.then(() => answered++));
    await turns(20);
    assert.equal(answered, 0);
    assert.equal(stored(), 0, 'nothing committed while the other connection holds the gate');
    const commitsBefore = store.commitStats().commits;
    other.release();
    await Promise.all(writes);
    assert.equal(stored(), 3);
    assert.equal(store.commitStats().commits - commitsBefore, 1, 'one commit for the writes that waited');
    assert.ok(other.tryAcquire(), 'this connection released the gate after its commit');
    other.release();
  });

  it('frees a gate whose holder is gone, and only then', async () => {
    const other = new WriteGate(store.gate.shared, DELIVER_THREAD);
    assert.ok(other.tryAcquire());
    const write = insert();
    store.gate.releaseIfHeldBy(1);
    await turns(10);
    assert.equal(stored(), 0, 'the main thread does not hold it: nothing freed');
    store.gate.releaseIfHeldBy(DELIVER_THREAD);
    await write;
    assert.equal(stored(), 1);
  });
});
