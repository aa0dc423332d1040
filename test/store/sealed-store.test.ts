/**
 * Encryption at rest and erasure on both stores (store/sealed-store.ts,
 * pipeline/rotate-data-key.ts, Store.eraseSubject): what the SQLite file and
 * PostgreSQL's rows hold is read as bytes, and no payload value is in them;
 * through herald every value comes back intact; a second key and `rotate`
 * re-seal everything, after which the old key can go; a missing key is a
 * clear error; erasing a subject removes it all and nothing else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { NormalizedEvent } from '../../src/core/event.js';
import { DataKeyring, keyIdOf, SealedDataError } from '../../src/core/sealing.js';
import { eraseSubject } from '../../src/pipeline/operator/erase-subject.js';
import { rotateDataKey } from '../../src/pipeline/operator/rotate-data-key.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { openEvent, SealedStore, sealEvent, storedKeyId } from '../../src/store/sealed-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { attempt, delivery, event } from './contract.js';

interface RawStore {
  /** A new unsealed store on the same data (a store may be opened again after close). */
  open(): Store;
  /** Everything the store holds, as text: the SQLite files' bytes, or every row of PostgreSQL's tables. */
  raw(): Promise<string>;
  dispose(): Promise<void>;
}

async function sqliteRaw(): Promise<RawStore> {
  const dir = tempDir();
  const file = path.join(dir, 'herald.db');
  return {
    open: () => new SqliteStore(file),
    raw: async () =>
      readdirSync(dir)
        .map((f) => readFileSync(path.join(dir, f)).toString('latin1'))
        .join('\n'),
    dispose: async () => {},
  };
}

async function postgresRaw(): Promise<RawStore> {
  const schema: TestSchema = await createTestSchema();
  return {
    open: () => new PostgresStore(schema.url),
    raw: async () => {
      const tables = ['events', 'event_dedupe', 'deliveries', 'attempts', 'audit_log'];
      const rows: string[] = [];
      for (const t of tables) rows.push(...(await schema.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${t} t`)).map((r) => r.row));
      return rows.join('\n');
    },
    dispose: () => schema.drop(),
  };
}

/** Markers that must never be in the store as they are. */
const MARKER = { data: 'Marker-Data-7QxZ', session: 'Marker-Session-8RwY', message: 'Marker-Message-9SvX', excerpt: 'Marker-Excerpt-0TuW' };

for (const [name, make] of [
  ['SQLite', sqliteRaw],
  ['PostgreSQL', postgresRaw],
] as const) {
  describe(`encryption at rest and erasure: ${name}`, function () {
    this.timeout(30_000);
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    let raw: RawStore;
    const opened: Store[] = [];
    const open = (keys: DataKeyring): SealedStore => {
      const store = new SealedStore(raw.open(), keys);
      opened.push(store);
      return store;
    };

    beforeEach(async () => {
      raw = await make();
      const store = raw.open();
      await store.migrate();
      await store.close();
    });
    afterEach(async () => {
      await Promise.allSettled(opened.splice(0).map((s) => s.close()));
      await raw.dispose();
    });

    /** Stores an event of `subject` with its session, a delivery with its message, and an attempt with its excerpt. */
    async function storeOne(store: Store, subject: string, markers = MARKER): Promise<NormalizedEvent> {
      const e = event('facesign', { subject, data: { name: markers.data }, session: { status: 'complete', note: markers.session } });
      await store.insertEvent({ event: e, dedupeKey: `key-${e.id}`, dedupeUntilMs: Date.now() + 60_000 });
      const d = { ...delivery(), message: { channel: 'webhook' as const, body: { text: markers.message }, contentType: 'application/json' } };
      await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [d] }]);
      const [claimed] = await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'me', claimTtlMs: 60_000, now: Date.now() + 1 });
      assert.equal(claimed?.id, d.id);
      assert.ok(await store.completeAttempt('me', { ...attempt(d.id), responseExcerpt: `echo ${markers.excerpt}` }, { status: 'delivered' }));
      return e;
    }

    async function assertIntact(store: Store, e: NormalizedEvent, markers = MARKER): Promise<void> {
      const read = await store.getEvent(e.id);
      assert.deepEqual(read, e);
      assert.deepEqual(
        (await store.listEvents({ subject: e.subject! })).map((x) => x.id),
        [e.id],
      );
      const [d] = await store.listDeliveries({ eventId: e.id });
      assert.deepEqual(d!.message, { channel: 'webhook', body: { text: markers.message }, contentType: 'application/json' });
      assert.equal((await store.listAttempts(d!.id))[0]!.responseExcerpt, `echo ${markers.excerpt}`);
    }

    async function assertNoMarker(markers: Record<string, string> = MARKER): Promise<void> {
      const bytes = await raw.raw();
      for (const marker of Object.values(markers)) assert.ok(!bytes.includes(marker), `${marker} is not stored as it is`);
    }

    it('stores no payload value as it is, and reads every one back intact', async () => {
      const store = open(new DataKeyring(k1));
      const e = await storeOne(store, 'sess_a');
      await assertIntact(store, e);
      const [exported] = await store.exportEvents(undefined, 10);
      assert.deepEqual(exported!.event, e);
      await store.close();
      await assertNoMarker();
      // What the rows record: the key id.
      const unsealed = raw.open();
      opened.push(unsealed);
      const [stored] = await unsealed.exportEvents(undefined, 10);
      assert.equal(storedKeyId(stored!.event), keyIdOf(k1));
      assert.equal(storedKeyId(stored!.deliveries[0]!.delivery.message!), keyIdOf(k1));
      assert.equal(storedKeyId(stored!.deliveries[0]!.attempts[0]!.responseExcerpt!), keyIdOf(k1));
    });

    it('seals the messages of an event routed in the write that stores it, as those of one routed later', async () => {
      const store = open(new DataKeyring(k1));
      const e = event('facesign', { subject: 'sess_r', data: { name: MARKER.data } });
      const d = { ...delivery(), message: { channel: 'webhook' as const, body: { text: MARKER.message }, contentType: 'application/json' } };
      let asked = false;
      const route = () => ((asked = true), { eventId: e.id, rulesVersion: 'v1', deliveries: [d] });
      await store.insertEvent({ event: e, dedupeKey: `key-${e.id}`, dedupeUntilMs: Date.now() + 60_000, route });
      // PostgreSQL routes no event as it stores it: the route stage does, later.
      if (!asked) await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [d] }]);
      assert.equal(asked, name === 'SQLite');
      assert.deepEqual((await store.listDeliveries({ eventId: e.id }))[0]!.message, d.message);
      await store.close();
      await assertNoMarker({ data: MARKER.data, message: MARKER.message });
    });

    it('seals a replayed event whose session was fetched again, as it seals any event', async () => {
      const store = open(new DataKeyring(k1));
      const e = await storeOne(store, 'sess_r');
      const refreshed: NormalizedEvent = { ...e, outcome: 'completed', session: { status: 'complete', note: 'Marker-Refreshed-1UtV' } };
      await store.addDeliveries([{ eventId: e.id, deliveries: [delivery()], event: refreshed }], Date.now());
      assert.deepEqual(await store.getEvent(e.id), refreshed);
      await assertNoMarker({ ...MARKER, refreshed: 'Marker-Refreshed-1UtV' });
      const unsealed = raw.open();
      opened.push(unsealed);
      assert.equal(storedKeyId((await unsealed.getEvent(e.id))!), keyIdOf(k1));
    });

    it('rotates to a second key, after which the first can go; a store without the key says which key it lacks', async () => {
      // One event stored before there was any key, one under k1.
      const plain = await storeOne(open(new DataKeyring(null)), 'sess_plain', {
        data: 'Plain-Data',
        session: 'Plain-Session',
        message: 'Plain-Message',
        excerpt: 'Plain-Excerpt',
      });
      const sealed = await storeOne(open(new DataKeyring(k1)), 'sess_k1');
      const unsealed = raw.open();
      opened.push(unsealed);
      const progress: number[] = [];
      const report = await rotateDataKey(unsealed, new DataKeyring(k2, [k1]), { batchSize: 1, onProgress: (p) => progress.push(p.events) });
      assert.deepEqual(report, { keyId: keyIdOf(k2), events: 2, resealed: { events: 2, messages: 2, excerpts: 2, media: 0 }, changedMeanwhile: 0 });
      assert.deepEqual(progress, [1, 2]);
      // A second run finds nothing left to do.
      assert.deepEqual((await rotateDataKey(unsealed, new DataKeyring(k2, [k1]))).resealed, { events: 0, messages: 0, excerpts: 0, media: 0 });
      await Promise.all(opened.splice(0).map((s) => s.close()));
      await assertNoMarker({ data: 'Plain-Data', session: 'Plain-Session', message: 'Plain-Message', excerpt: 'Plain-Excerpt' });
      // The new key alone reads everything.
      const onlyK2 = open(new DataKeyring(k2));
      await assertIntact(onlyK2, sealed);
      await assertIntact(onlyK2, plain, { data: 'Plain-Data', session: 'Plain-Session', message: 'Plain-Message', excerpt: 'Plain-Excerpt' });
      // The old key alone, or none, reads nothing, and says which key it lacks.
      for (const keys of [new DataKeyring(k1), new DataKeyring(null)]) {
        await assert.rejects(
          open(keys).getEvent(sealed.id),
          (error: unknown) =>
            error instanceof SealedDataError && error.message.includes(`data key ${keyIdOf(k2)}`) && !error.message.includes(k2.toString('base64')),
        );
      }
    });

    it('re-seals a row only if it still holds what rotation read', async () => {
      const store = open(new DataKeyring(k1));
      // An event waiting for enrichment, which a serving herald writes again.
      const e = event('facesign', { data: { name: MARKER.data } });
      await store.insertEvent({ event: e, dedupeKey: 'k', dedupeUntilMs: Date.now() + 60_000, enrichDueAtMs: Date.now() });
      const unsealed = raw.open();
      opened.push(unsealed);
      const [stored] = await unsealed.exportEvents(undefined, 1);
      const keys = new DataKeyring(k2, [k1]);
      const next = sealEvent(keys, openEvent(keys, stored!.event));
      // A serving herald enriched the event meanwhile: its write stays.
      await store.completeEnrichment(e.id, { event: { ...e, session: { status: 'complete' } } });
      assert.equal(await unsealed.reseal([{ kind: 'event', id: e.id, from: stored!.event, to: next }]), 0);
      const [now] = await unsealed.exportEvents(undefined, 1);
      assert.equal(await unsealed.reseal([{ kind: 'event', id: e.id, from: now!.event, to: next }]), 1);
      assert.equal(storedKeyId((await unsealed.getEvent(e.id))!), keyIdOf(k2));
    });

    it("passes a replay's batch entries through: the event joins its batch, with the sealed delivery in the same write", async () => {
      const store = open(new DataKeyring(k1));
      const e = await storeOne(store, 'sess_b');
      const now = Date.now();
      const entry = {
        rule: 'grouped',
        destination: 'hook',
        template: 'summary',
        key: '["sess_b"]',
        keyLabel: 'sess_b',
        keyValues: { subject: 'sess_b' },
        spec: { kind: 'group' as const, by: ['subject'], max: 100, waitMs: 30_000, intervalMs: 300_000 },
        firstDueAt: now + 30_000,
        intervalMs: 300_000,
        now,
      };
      const d = { ...delivery(), message: { channel: 'webhook' as const, body: { text: MARKER.message }, contentType: 'application/json' } };
      await store.addDeliveries([{ eventId: e.id, deliveries: [d], batched: [entry] }], now);
      const [batch] = await store.claimDueBatches({ limit: 10, claimant: 'me', claimTtlMs: 60_000, now: now + 30_000 });
      assert.deepEqual(batch?.eventIds, [e.id]);
      assert.deepEqual((await store.getDelivery(d.id))?.message, d.message);
      await store.close();
      await assertNoMarker();
    });

    it('erases one subject: its events, deliveries, attempts and dedupe keys; others stay; audited', async () => {
      // No key: erasure must not leave the erased values in the file either.
      const store = open(new DataKeyring(null));
      const gone = await storeOne(store, 'sess_gone', { data: 'Gone-Data', session: 'Gone-Session', message: 'Gone-Message', excerpt: 'Gone-Excerpt' });
      await storeOne(store, 'sess_gone', { data: 'Gone-Data2', session: 'Gone-Session2', message: 'Gone-Message2', excerpt: 'Gone-Excerpt2' });
      const kept = await storeOne(store, 'sess_kept');
      const counts = { events: 2, deliveries: 2, attempts: 2, dedupeKeys: 2, media: 0 };
      const dry = await eraseSubject(store, 'sess_gone', { dryRun: true, actor: 'dpo', detail: { via: 'test' } });
      assert.deepEqual(dry, { subject: 'sess_gone', dryRun: true, removed: counts });
      assert.equal(await store.countEvents({ subject: 'sess_gone' }), 2, 'a dry run deletes nothing');
      assert.deepEqual((await store.listAudit({ action: 'subject.erase' })).length, 0, 'nor is it audited');
      const done = await eraseSubject(store, 'sess_gone', { dryRun: false, actor: 'dpo', detail: { via: 'test' } });
      assert.deepEqual(done.removed, counts);
      assert.equal(await store.countEvents({ subject: 'sess_gone' }), 0);
      assert.equal(await store.getEvent(gone.id), undefined);
      assert.deepEqual(await store.eraseSubject('sess_gone', { dryRun: false }), { events: 0, deliveries: 0, attempts: 0, dedupeKeys: 0, media: 0 });
      // The dedupe key went with it: the same webhook again is a new event.
      const again = await store.insertEvent({
        event: event('facesign', { subject: 'sess_gone' }),
        dedupeKey: `key-${gone.id}`,
        dedupeUntilMs: Date.now() + 60_000,
      });
      assert.equal(again.status, 'stored');
      await assertIntact(store, kept);
      const [entry] = await store.listAudit({ action: 'subject.erase' });
      assert.equal(entry!.actor, 'dpo');
      assert.equal(entry!.target, 'sess_gone');
      assert.deepEqual(entry!.detail, { via: 'test', removed: counts });
      await store.close();
      const bytes = await raw.raw();
      for (const marker of ['Gone-Data', 'Gone-Session', 'Gone-Message', 'Gone-Excerpt'])
        assert.ok(!bytes.includes(marker), `${marker} is erased from the store`);
      assert.ok(bytes.includes(MARKER.data), 'the other subject is still there (the check can see plaintext)');
    });
  });
}
