/**
 * The connection to PostgreSQL: a `pg` Pool built from the store URL, and the
 * one place queries go through, so every driver failure (connection refused,
 * pool time-out, server shut down) reaches the pipeline as StoreUnavailableError
 * and the provider gets a 503, never a 2xx.
 */
import pg from 'pg';
import { StoreUnavailableError } from '../../core/errors.js';

/** What `store: postgres://...?schema=NAME` asks for. */
export interface PostgresTarget {
  /** The URL handed to `pg`, without herald's own `schema` parameter. */
  connectionString: string;
  /** The schema herald's tables live in; undefined means the role's default (usually `public`). */
  schema: string | undefined;
}

/** A schema name herald accepts: a plain identifier, so it never needs quoting in search_path. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Splits herald's `?schema=` option off a postgres:// URL. */
export function parsePostgresUrl(url: string): PostgresTarget {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new Error(`store URL: schema "${schema}" must be lower-case letters, digits and _, starting with a letter or _`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

export interface PoolOptions {
  /** Connections per process (default 10). */
  max?: number;
}

/** int8 (COUNT, and every ms-since-epoch column) as a JS number: ms timestamps fit a double exactly. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Opens a pool whose connections all use `target.schema` (through search_path). */
export function createPool(target: PostgresTarget, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: options.max ?? 10,
    // A store that does not answer is unavailable: fail the request (503) rather than hang it.
    connectionTimeoutMillis: 5_000,
    options: [
      target.schema ? `-c search_path=${target.schema}` : '',
      // No queue statement should run this long; a stuck one frees its locks.
      '-c statement_timeout=30000',
    ]
      .filter(Boolean)
      .join(' '),
    application_name: 'herald',
    types,
  });
  // An idle connection the server dropped emits 'error' on the pool; without a
  // listener that would crash the process. The next query reports the failure.
  pool.on('error', () => {});
  return pool;
}

/** The parameters herald sends, and what a query returns. */
export type Param = string | number | boolean | null | Buffer | Array<string | number | null>;

/** Runs queries on a pool (or one client, inside a transaction), translating failures. */
export class Db {
  constructor(private readonly client: pg.Pool | pg.PoolClient) {}

  /**
   * Runs one statement. A `name` makes `pg` prepare it once per connection;
   * the queue's hot statements use one.
   */
  async query<R extends pg.QueryResultRow>(text: string, values: Param[] = [], name?: string): Promise<pg.QueryResult<R>> {
    try {
      return await this.client.query<R>({ text, values: values.map(withoutNul), ...(name && { name }) });
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  async rows<R extends pg.QueryResultRow>(text: string, values: Param[] = [], name?: string): Promise<R[]> {
    return (await this.query<R>(text, values, name)).rows;
  }

  /** Runs `work` in one transaction on one connection of the pool (for the rare multi-statement writes). */
  async transaction<T>(work: (tx: Db) => Promise<T>): Promise<T> {
    const pool = this.client;
    if (!(pool instanceof pg.Pool)) throw new Error('transaction() is for the pool: this Db is already one transaction');
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
    const tx = new Db(client);
    try {
      await tx.query('BEGIN');
      const result = await work(tx);
      await tx.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
}

/**
 * SQLSTATE classes of a statement refused for the values it was given, not
 * for the state of the server or the connection: 22 data exception, 23
 * integrity constraint violation, 54 program limit exceeded (a value too big
 * for an index).
 */
const VALUE_ERROR_CLASSES = new Set(['22', '23', '54']);

/**
 * Whether a failed write may owe the failure to one of the rows it carried:
 * the server refused a value, or herald's own code threw before sending (no
 * StoreUnavailableError). A lost connection or a time-out is no row's fault.
 */
export function rowMayCause(error: unknown): boolean {
  if (!(error instanceof StoreUnavailableError)) return true;
  const cause = error.cause;
  return cause instanceof pg.DatabaseError && typeof cause.code === 'string' && VALUE_ERROR_CLASSES.has(cause.code.slice(0, 2));
}

/**
 * PostgreSQL text cannot hold U+0000, which a JSON payload may carry (`"\u0000"`)
 * into a type, subject, id or a receiver's reply excerpt. Stored as U+FFFD
 * instead, so such an event is stored rather than refused forever; the event
 * body itself is JSON text, where the character stays escaped and exact.
 */
function withoutNul(value: Param): Param {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
  if (Array.isArray(value)) return value.map((v) => withoutNul(v) as string | number | null);
  return value;
}
