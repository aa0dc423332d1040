import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { rmSync } from 'node:fs';
import type { NormalizedEvent } from '../../src/core/event.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { newEventId } from '../../src/core/ids.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../helpers/herald.js';

function event(source = 'facesign'): NormalizedEvent {
  const now = new Date().toISOString();
  return {
    specversion: '1.0', id: newEventId(), source, provider: 'facesign', type: 'session.status',
    category: 'verification', outcome: null, subject: 'sess_1', time: now, receivedAt: now,
    providerEventId: 'evt_1', datacontenttype: 'application/json', data: { id: 'evt_1' },
  };
}

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

  it('migrates once: a second migrate changes nothing', async () => {
    assert.equal(await store.migrate(), SQLITE_MIGRATIONS.length);
    const db = new Database(file, { readonly: true });
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations').all(), SQLITE_MIGRATIONS.map((_, i) => ({ version: i + 1 })));
    db.close();
  });

  it('stores an event and reads it back as it was', async () => {
    const e = event();
    assert.deepEqual(await store.insertEvent({ event: e, dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 }), { status: 'stored', id: e.id });
    assert.deepEqual(await store.getEvent(e.id), e);
  });

  it('answers duplicate for a known key of the same source, naming the first event', async () => {
    const first = event();
    await store.insertEvent({ event: first, dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
    const again = await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
    assert.deepEqual(again, { status: 'duplicate', id: first.id });
    assert.equal(await store.countEvents(), 1);
  });

  it('keeps dedupe keys per source', async () => {
    await store.insertEvent({ event: event('a'), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
    const other = await store.insertEvent({ event: event('b'), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
    assert.equal(other.status, 'stored');
  });

  it('forgets a dedupe key once its window has passed', async () => {
    await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() - 1 });
    const later = await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
    assert.equal(later.status, 'stored');
    assert.equal(await store.countEvents(), 2);
  });

  it('commits concurrent writes together (group commit), not one transaction each', async () => {
    const before = store.commitStats();
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => store.insertEvent({ event: event(), dedupeKey: `k${i}`, dedupeUntilMs: Date.now() + 60_000 })),
    );
    assert.equal(results.filter((r) => r.status === 'stored').length, 200);
    assert.equal(await store.countEvents(), 200);
    const commits = store.commitStats().commits - before.commits;
    assert.ok(commits >= 1 && commits <= 2, `expected 200 writes in at most 2 commits, got ${commits}`);
  });

  it('rejects every write of a batch with StoreUnavailableError when the database stays locked, and stores none', async () => {
    const other = new Database(file);
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const writes = Array.from({ length: 5 }, (_, i) => store.insertEvent({ event: event(), dedupeKey: `locked${i}`, dedupeUntilMs: Date.now() + 60_000 }));
      for (const write of writes) await assert.rejects(write, StoreUnavailableError);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    assert.equal(await store.countEvents(), 0);
    // And it recovers by itself once the lock is gone.
    const after = await store.insertEvent({ event: event(), dedupeKey: 'locked0', dedupeUntilMs: Date.now() + 60_000 });
    assert.equal(after.status, 'stored');
  });
});
