/**
 * One serving process per SQLite file (src/store/sqlite/owner-lock.ts): a
 * second store that asks to serve the same file is refused with the owner's
 * pid and host, stores that only read or make short writes (the CLI) are not,
 * and the file is free again once the owner closes.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { StoreOwnedError } from '../../src/core/errors.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/herald.js';
import { newEvent } from './contract.js';

describe('SqliteStore: one serving process per file', () => {
  let dir: string;
  let file: string;
  const stores: SqliteStore[] = [];
  const open = async () => {
    const store = new SqliteStore(file);
    stores.push(store);
    await store.migrate();
    return store;
  };

  beforeEach(() => {
    dir = tempDir();
    file = path.join(dir, 'herald.db');
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second serving store on the file, naming the file and the owner (pid, host)', async () => {
    await (await open()).startServing();
    const second = await open();
    const error = await second.startServing().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof StoreOwnedError, `expected StoreOwnedError, got ${String(error)}`);
    assert.equal(error.owner?.pid, process.pid);
    assert.equal(error.owner?.host, hostname());
    assert.match(
      error.message,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is served by another herald \\(pid ${process.pid} on ${hostname()}, since \\S+\\)`),
    );
    assert.doesNotMatch(error.message, /\n/);
  });

  it('lets stores that do not serve (the CLI) read and write beside the owner', async () => {
    await (await open()).startServing();
    const cli = await open();
    assert.equal((await cli.insertEvent(newEvent('k1'))).status, 'stored');
    assert.equal((await cli.listEvents()).length, 1);
  });

  it('is free again once the owner closes', async () => {
    const first = await open();
    await first.startServing();
    await first.close();
    stores.splice(stores.indexOf(first), 1);
    await (await open()).startServing();
  });

  it('takes no lock for an in-memory store', async () => {
    const a = new SqliteStore(':memory:');
    const b = new SqliteStore(':memory:');
    stores.push(a, b);
    await a.startServing();
    await b.startServing();
  });
});
