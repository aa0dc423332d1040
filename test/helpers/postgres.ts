/**
 * PostgreSQL for tests. The database comes from HERALD_TEST_POSTGRES_URL: CI
 * sets it to this machine's server (.ci/run); when it is unset, the suite's
 * global fixture (test/support/postgres-server.ts) starts a throwaway server of
 * its own and sets it. An unreachable database FAILS the tests with a message
 * naming the variable: they are never skipped. Every test gets its own schema
 * `herald_test_<random>`, dropped afterwards, so runs never see each other's rows.
 * Tests that each need an empty migrated store share one schema, migrated once
 * and emptied between them (createMigratedTestSchema): migrating costs more
 * than the tests.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';

/** Read when used, not at import: the global fixture sets it after the test files are loaded. */
export function testPostgresUrl(): string {
  const url = process.env.HERALD_TEST_POSTGRES_URL;
  if (!url) {
    throw new Error(
      'HERALD_TEST_POSTGRES_URL is unset: run the tests with mocha (`npm test`), whose global fixture ' +
        'starts a PostgreSQL of its own (test/support/postgres-server.ts), or set it to a reachable postgres:// URL.',
    );
  }
  return url;
}

export interface TestSchema {
  name: string;
  /** The store URL of this schema: testPostgresUrl() with `?schema=<name>`. */
  url: string;
  /** Runs SQL in the schema (for assertions a Store cannot make). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<R[]>;
  /** Drops the schema with everything in it. */
  drop(): Promise<void>;
}

/** The URL with any password hidden, for error messages. */
function printable(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Connects to the test database, or throws an error that says how to point the tests at one. */
export async function connectTestDatabase(): Promise<pg.Client> {
  const databaseUrl = testPostgresUrl();
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(
      `PostgreSQL is unreachable at ${printable(databaseUrl)} (${error instanceof Error ? error.message : String(error)}). ` +
        'The PostgreSQL tests need a database: start one, or set HERALD_TEST_POSTGRES_URL to a reachable postgres:// URL ' +
        '(a role that may CREATE schemas).',
      { cause: error },
    );
  }
  return client;
}

/**
 * Creates a fresh schema. With `create: false` only the name is reserved, so
 * herald itself creates the schema on migrate (the "empty database" case).
 */
export async function createTestSchema(options: { create?: boolean } = {}): Promise<TestSchema> {
  const name = `herald_test_${randomBytes(6).toString('hex')}`;
  const client = await connectTestDatabase();
  if (options.create !== false) await client.query(`CREATE SCHEMA ${name}`);
  await client.query(`SET search_path = ${name}`);
  const url = new URL(testPostgresUrl());
  url.searchParams.set('schema', name);
  return {
    name,
    url: url.toString(),
    query: async (sql, values) => (await client.query(sql, values)).rows,
    async drop() {
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

export interface MigratedTestSchema extends TestSchema {
  /** Deletes every row of every table but schema_migrations: as a freshly migrated schema, without migrating again. */
  empty(): Promise<void>;
}

/** A fresh schema with herald's migrations applied, to be emptied between the tests that share it. */
export async function createMigratedTestSchema(): Promise<MigratedTestSchema> {
  const schema = await createTestSchema();
  const store = new PostgresStore(schema.url);
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  // DELETE, not TRUNCATE: a TRUNCATE makes new files for every table and index, a hundred times
  // slower than deleting the few rows a test writes. Referencing tables first, for the foreign keys.
  const tables = (
    await schema.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'", [schema.name])
  ).map((t) => t.name);
  const references = await schema.query<{ child: string; parent: string }>(
    `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
      WHERE k.contype = 'f' AND k.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND c.relname <> p.relname`,
    [schema.name],
  );
  const ordered: string[] = [];
  while (ordered.length < tables.length) {
    const next = tables.filter((t) => !ordered.includes(t) && !references.some((r) => r.parent === t && !ordered.includes(r.child)));
    if (next.length === 0) throw new Error(`foreign keys in a cycle among ${tables.filter((t) => !ordered.includes(t)).join(', ')}`);
    ordered.push(...next);
  }
  const empty = ordered.map((table) => `DELETE FROM ${schema.name}.${table};`).join(' ');
  return {
    ...schema,
    async empty() {
      await schema.query(empty);
    },
  };
}
