/**
 * The PostgreSQL store: the shared contract, plus what only a store shared by
 * several processes must do. Two PostgresStore instances (two pools) stand in
 * for two herald processes. Needs PostgreSQL: see test/helpers/postgres.ts.
 */
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Delivery, InsertResult } from '../../src/store/store.js';
import { freePort } from '../helpers/cli.js';
import { createMigratedTestSchema, createTestSchema, type MigratedTestSchema } from '../helpers/postgres.js';
import { delivery, event, newEvent, storeContract } from './contract.js';

// One schema, migrated once, emptied after each test: a store on a fresh schema each time is what
// the contract asks for, and the schema's tables are as good as new once emptied.
let contractSchema: MigratedTestSchema | undefined;
let contractStore: PostgresStore | undefined;
storeContract('PostgresStore', {
  shared: true,
  async open() {
    contractSchema ??= await createMigratedTestSchema();
    contractStore = new PostgresStore(contractSchema.url);
    await contractStore.migrate();
    return contractStore;
  },
  async dispose() {
    await contractStore?.close();
    await contractSchema?.empty();
    contractStore = undefined;
  },
  async disposeAll() {
    await contractSchema?.drop();
    contractSchema = undefined;
  },
});

describe('PostgresStore shared by several processes', function () {
  this.timeout(30_000);
  let a: PostgresStore;
  let b: PostgresStore;

  it('migrates an empty database once when several processes start at the same instant', async () => {
    const schema = await createTestSchema({ create: false });
    const stores = [0, 1, 2].map(() => new PostgresStore(schema.url));
    try {
      const versions = await Promise.all(stores.map((store) => store.migrate()));
      assert.deepEqual(versions, [POSTGRES_MIGRATIONS.length, POSTGRES_MIGRATIONS.length, POSTGRES_MIGRATIONS.length]);
      const rows = await schema.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        POSTGRES_MIGRATIONS.map((_, i) => i + 1),
      );
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await schema.drop();
    }
  });

  describe('once migrated', () => {
    // One migrated schema, emptied after each test; two stores on it stand for two processes.
    let schema: MigratedTestSchema;
    before(async () => {
      schema = await createMigratedTestSchema();
    });
    after(async () => {
      await schema.drop();
    });
    beforeEach(() => {
      a = new PostgresStore(schema.url);
      b = new PostgresStore(schema.url);
    });
    afterEach(async () => {
      await Promise.all([a, b].map((store) => store.close()));
      await schema.empty();
    });

    it('stores each event once when two processes receive the same events at the same moment', async () => {
      const events = Array.from({ length: 500 }, (_, i) => newEvent(`k${i}`));
      // The same keys, with other herald ids, as a provider's retry reaching another process.
      const retries = events.map((e) => newEvent(e.dedupeKey));
      const [fromA, fromB] = await Promise.all([Promise.all(events.map((e) => a.insertEvent(e))), Promise.all(retries.map((e) => b.insertEvent(e)))]);
      assert.equal(await a.countEvents(), 500);
      events.forEach((_, i) => {
        const pair: InsertResult[] = [fromA[i]!, fromB[i]!];
        assert.deepEqual(pair.map((r) => r.status).sort(), ['duplicate', 'stored'], `key k${i}: ${JSON.stringify(pair)}`);
        assert.equal(pair[0]!.id, pair[1]!.id, `both answers for k${i} name the stored event`);
      });
    });

    it('shares round trips: concurrent inserts are written by a handful of statements', async () => {
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => a.insertEvent(newEvent(`k${i}`))));
      assert.ok(results.every((r) => r.status === 'stored'));
      // Each statement is its own transaction: count the transactions that wrote the rows.
      const [row] = await schema.query<{ n: number }>('SELECT count(DISTINCT xmin::text)::int AS n FROM events');
      assert.ok(row!.n <= 2, `300 concurrent inserts took ${row!.n} statements`);
    });

    it('never hands one delivery to two processes claiming at the same time', async () => {
      const e = event();
      await a.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await a.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: Array.from({ length: 300 }, () => delivery()) }]);
      const taken = new Map<string, string>();
      const claim = (store: PostgresStore, claimant: string): Promise<Delivery[]> =>
        store.claimDueDeliveries({ destination: 'hook', limit: 7, claimant, claimTtlMs: 60_000, now: Date.now() });
      const record = (claimed: Delivery[], claimant: string) => {
        for (const d of claimed) {
          assert.equal(taken.get(d.id), undefined, `${d.id} claimed by ${taken.get(d.id)} and ${claimant}`);
          taken.set(d.id, claimant);
        }
      };
      const claimants: Array<[PostgresStore, string]> = [
        [a, 'a1'],
        [a, 'a2'],
        [b, 'b1'],
        [b, 'b2'],
      ];
      // The first claims all at once, so every claimant takes part: on a busy machine one claimant once took
      // all 300 before the others' first claims were answered, and the sharing was not shown.
      const first = await Promise.all(claimants.map(([store, claimant]) => claim(store, claimant)));
      first.forEach((claimed, i) => record(claimed, claimants[i]![1]));
      await Promise.all(
        claimants.map(async ([store, claimant]) => {
          for (let claimed = await claim(store, claimant); claimed.length > 0; claimed = await claim(store, claimant)) record(claimed, claimant);
        }),
      );
      assert.equal(taken.size, 300);
      assert.ok(new Set(taken.values()).size > 1, 'the work was shared');
    });

    it('routes each event once when two processes route at the same time, and spreads the events between them', async () => {
      const events = Array.from({ length: 200 }, () => event());
      await Promise.all(events.map((e) => a.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 })));
      const routedBy = new Map<string, number>();
      const router = async (store: PostgresStore, name: string) => {
        for (;;) {
          const batch = await store.unroutedEvents(10);
          if (batch.length === 0) return;
          routedBy.set(name, (routedBy.get(name) ?? 0) + batch.length);
          await store.markRouted(batch.map((ev) => ({ eventId: ev.id, rulesVersion: 'v1', deliveries: [delivery()] })));
        }
      };
      await Promise.all([router(a, 'a'), router(b, 'b')]);
      const deliveries = await a.listDeliveries({ limit: 1000 });
      assert.equal(deliveries.length, 200);
      assert.equal(new Set(deliveries.map((d) => d.eventId)).size, 200);
      assert.equal((routedBy.get('a') ?? 0) + (routedBy.get('b') ?? 0), 200, 'no event was handed out twice');
    });

    it("takes over a dead process's events to route once its routing claim expires", async () => {
      const e = event();
      await a.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      assert.deepEqual(
        (await a.unroutedEvents(10)).map((x) => x.id),
        [e.id],
      );
      assert.deepEqual(await b.unroutedEvents(10), [], 'reserved to the first process');
      assert.deepEqual(
        (await a.unroutedEvents(10)).map((x) => x.id),
        [e.id],
        'its own claim comes back to it',
      );
      // The claim expires (as when its process died 30 s ago), without waiting for it: a short claim
      // expired on a busy machine between a claim and its markRouted, and events were handed out twice.
      await schema.query('UPDATE events SET route_claim_expires_at = $1', [Date.now() - 1]);
      assert.deepEqual(
        (await b.unroutedEvents(10)).map((x) => x.id),
        [e.id],
        'taken over after the claim expired',
      );
      // Both finish: the event still gets one set of deliveries.
      await b.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] }]);
      await a.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery(), delivery()] }]);
      assert.equal((await a.listDeliveries({ eventId: e.id })).length, 1);
    });

    it('keeps tables out of other schemas: a store only sees its own schema', async () => {
      const other = await createTestSchema();
      const elsewhere = new PostgresStore(other.url);
      try {
        await elsewhere.migrate();
        await a.insertEvent(newEvent('k1'));
        assert.equal(await elsewhere.countEvents(), 0);
        assert.equal((await elsewhere.insertEvent(newEvent('k1'))).status, 'stored');
      } finally {
        await elsewhere.close();
        await other.drop();
      }
    });
  });
});

describe('PostgresStore when the database cannot be reached', function () {
  this.timeout(30_000);

  it('rejects with StoreUnavailableError (so ingest answers 503), and fails ping', async () => {
    const store = new PostgresStore(`postgres://postgres@127.0.0.1:${await freePort()}/test`);
    try {
      await assert.rejects(store.insertEvent(newEvent('k1')), StoreUnavailableError);
      await assert.rejects(store.ping(), StoreUnavailableError);
      await assert.rejects(store.migrate(), StoreUnavailableError);
      await assert.rejects(
        store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'a', claimTtlMs: 1000, now: Date.now() }),
        StoreUnavailableError,
      );
    } finally {
      await store.close();
    }
  });

  it('refuses a schema name that is not a plain identifier', () => {
    assert.throws(() => new PostgresStore('postgres://postgres@127.0.0.1/test?schema=a;drop'), /schema "a;drop" must be/);
  });
});
