/**
 * A fresh, migrated store of each kind for a test that runs on both: SQLite
 * in memory, and PostgreSQL in a schema of its own, dropped after.
 */
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { createTestSchema, type TestSchema } from './postgres.js';

export interface StoreHarness {
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

function sqlite(): StoreHarness {
  let store: SqliteStore;
  return {
    open: async () => {
      store = new SqliteStore(':memory:');
      await store.migrate();
      return store;
    },
    dispose: () => store.close(),
  };
}

function postgres(): StoreHarness {
  let schema: TestSchema;
  let store: PostgresStore;
  return {
    open: async () => {
      schema = await createTestSchema();
      store = new PostgresStore(schema.url);
      await store.migrate();
      return store;
    },
    dispose: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

/** `for (const [name, harness] of STORE_KINDS) describe(name, ...)`: each kind's name and a maker of its harness. */
export const STORE_KINDS = [
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
] as const;
