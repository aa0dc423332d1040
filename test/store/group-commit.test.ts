/** Group commit: what waits for the disk, and what a failed sync does. */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import { WalSync } from '../../src/store/sqlite/wal-sync.js';
import { tempDir } from '../helpers/herald.js';

/** A WalSync whose syncs finish when the test says so, to see what waits for them. */
class GatedSync extends WalSync {
  calls = 0;
  private gates: Array<{ open: () => void; fail: (error: Error) => void }> = [];
  constructor() {
    super(null);
  }
  override sync(): Promise<void> {
    this.calls++;
    return new Promise((resolve, reject) => this.gates.push({ open: resolve, fail: reject }));
  }
  open(): void {
    this.gates.shift()!.open();
  }
  fail(error: Error): void {
    this.gates.shift()!.fail(error);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  let dir: string;
  let db: Database.Database;
  beforeEach(() => {
    dir = tempDir();
    db = new Database(path.join(dir, 'test.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (v TEXT)');
  });
  afterEach(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers durable writes only after the WAL is synced, once for the whole batch; others at the commit', async () => {
    const wal = new GatedSync();
    const commits = new GroupCommit(db, wal);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const answered: string[] = [];
    const durable = ['a', 'b', 'c'].map((v) => commits.write(() => insert.run(v)).then(() => answered.push(v)));
    const quick = commits.write(() => insert.run('claim'), { durable: false }).then(() => answered.push('claim'));
    await quick;
    await tick();
    assert.deepEqual(answered, ['claim'], 'durable writes wait for the disk');
    assert.equal(wal.calls, 1);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 4, 'committed already');
    wal.open();
    await Promise.all(durable);
    assert.deepEqual(answered, ['claim', 'a', 'b', 'c']);
  });

  it('undoes a write that throws, alone: the rest of its batch is committed', async () => {
    const commits = new GroupCommit(db, new WalSync(null)); // nothing to sync: answered at the commit
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const results = await Promise.allSettled([
      commits.write(() => insert.run('first')),
      commits.write(() => {
        insert.run('half-done');
        throw new Error('the second write fails after one statement');
      }),
      commits.write(() => insert.run('third')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(db.prepare('SELECT v FROM t ORDER BY rowid').all(), [{ v: 'first' }, { v: 'third' }]);
    assert.equal(commits.stats.commits, 1);
  });

  it('rejects the durable writes of a batch whose sync fails (committed, but perhaps not on disk)', async () => {
    const wal = new GatedSync();
    const commits = new GroupCommit(db, wal, (error) => new Error(`unavailable: ${(error as Error).message}`));
    const write = commits.write(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('x'));
    await tick();
    wal.fail(new Error('EIO'));
    await assert.rejects(write, /unavailable: EIO/);
  });

  it('syncs a real WAL file, and fails when there is none to sync', async () => {
    const commits = new GroupCommit(db, new WalSync(path.join(dir, 'test.db')));
    await commits.write(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('x'));
    await commits.close();
    const missing = new WalSync(path.join(dir, 'absent.db'));
    await assert.rejects(missing.sync(), /ENOENT/);
  });

  it('runs one fsync at a time: the syncs asked for while one runs share the next', async () => {
    db.prepare('INSERT INTO t (v) VALUES (?)').run('x'); // the -wal file exists
    const wal = new WalSync(path.join(dir, 'test.db'));
    const first = wal.sync();
    const [second, third] = [wal.sync(), wal.sync()];
    assert.notEqual(first, second, 'the first sync may have started before the later commits');
    assert.equal(second, third, 'one fsync serves every sync asked for meanwhile');
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await second;
    assert.ok(firstDone, 'the shared sync starts after the running one ends');
    const afterwards = wal.sync();
    assert.notEqual(afterwards, second, 'nothing runs now: a new sync starts at once');
    await afterwards;
    await wal.close();
  });
});
