/**
 * WAL checkpoints on a thread of their own while a SQLite store serves
 * (store/sqlite/checkpointer.ts): the pages reach the database file without
 * the serving connection's help, never while another connection of the
 * process holds the write gate, and if the thread stops the serving
 * connection checkpoints as SQLite does by default.
 */
import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DELIVER_THREAD, WriteGate } from '../../src/store/sqlite/write-gate.js';
import { tempDir } from '../helpers/herald.js';
import { newEvent } from './contract.js';

const EVERY_MS = 20;

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SQLite checkpoint thread', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;
  let sequence = 0;

  beforeEach(async () => {
    dir = tempDir();
    file = path.join(dir, 'herald.db');
    store = new SqliteStore(file, { checkpointEveryMs: EVERY_MS });
    await store.migrate();
    await store.startServing();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `count` events of about 2 KB each, `perCommit` to a transaction. */
  async function insert(count: number, perCommit = 50): Promise<void> {
    for (let done = 0; done < count; done += perCommit) {
      await Promise.all(
        Array.from({ length: Math.min(perCommit, count - done) }, () => {
          const e = newEvent(`key-${sequence++}`);
          e.event.data = { padding: 'x'.repeat(2000) };
          return store.insertEvent(e);
        }),
      );
    }
  }
  const databaseBytes = () => statSync(file).size;
  const walBytes = () => statSync(`${file}-wal`).size;

  it('copies the WAL into the database file on its own, well before SQLite would', async () => {
    await until(() => databaseBytes() > 0 && walBytes() >= 0, 'the migrations are checkpointed');
    const before = databaseBytes();
    // About 100 pages: far below the 1,000 at which the serving connection would checkpoint by itself.
    await insert(100);
    await until(() => databaseBytes() > before + 200_000, 'the events reach the database file');
  });

  it('starts the WAL again from its beginning after each checkpoint, instead of making it longer', async () => {
    await insert(100);
    await until(() => databaseBytes() > 300_000, 'the first events reach the database file');
    const walAfterFirst = walBytes();
    for (let round = 0; round < 5; round++) {
      const before = databaseBytes();
      await insert(100);
      await until(() => databaseBytes() > before + 200_000, `round ${round} reaches the database file`);
    }
    // Five more rounds of the same size, each written from the WAL's beginning: the file is as long as the longest round.
    assert.ok(walBytes() < walAfterFirst * 2, `the WAL grew from ${walAfterFirst} to ${walBytes()} bytes`);
  });

  it('waits while another connection of this process holds the write gate', async () => {
    await until(() => databaseBytes() > 4096, 'the migrations are in the database file');
    const other = new WriteGate(store.gate.shared, DELIVER_THREAD);
    await until(() => other.tryAcquire(), 'the gate is taken');
    // A writer outside the gate, as a CLI command would be: its pages wait in the WAL for the checkpoint thread.
    const writer = new Database(file);
    writer.pragma('wal_autocheckpoint = 0');
    const held = databaseBytes();
    try {
      writer.exec('CREATE TABLE scratch (x BLOB)');
      const add = writer.prepare('INSERT INTO scratch VALUES (?)');
      writer.transaction(() => {
        for (let i = 0; i < 200; i++) add.run(Buffer.alloc(2000));
      })();
      await new Promise((resolve) => setTimeout(resolve, EVERY_MS * 10));
      assert.equal(databaseBytes(), held, 'no checkpoint while the gate is held');
    } finally {
      other.release();
    }
    await until(() => databaseBytes() > held + 200_000, 'the checkpoint once the gate is free');
    writer.close();
  });

  it('if the thread stops, the serving connection checkpoints as SQLite does by default', async () => {
    await store.killCheckpointer();
    await until(() => databaseBytes() > 0, 'the migrations are in the database file');
    const before = databaseBytes();
    // Over 1,000 pages of WAL: SQLite's default automatic checkpoint copies them; the fallback of 10,000 would not.
    await insert(3000, 100);
    await until(() => databaseBytes() > before + 2_000_000, 'the serving connection checkpoints');
  });

  it('empties the WAL after an erasure even while the thread checkpoints all the time: it waits for the gate', async () => {
    const busy = new SqliteStore(path.join(dir, 'busy.db'), { checkpointEveryMs: 1 });
    await busy.migrate();
    await busy.startServing();
    try {
      for (let round = 0; round < 40; round++) {
        const e = newEvent(`erase-${round}`);
        e.event.subject = `subject-${round}`;
        await busy.insertEvent(e);
        await busy.eraseSubject(`subject-${round}`, { dryRun: false });
        // TRUNCATE leaves an empty -wal file; one that gave up (SQLITE_BUSY) leaves the pages in it.
        assert.equal(statSync(path.join(dir, 'busy.db-wal')).size, 0, `round ${round}: the WAL still holds pages`);
      }
    } finally {
      await busy.close();
    }
  });
});
