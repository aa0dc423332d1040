/**
 * The store as the CLI's commands open it. Commands that work on stored data
 * (`events`, `dlq`, `replay`, the source of `store copy`) open an existing
 * store as it is: they never create one and never migrate it, so a mistyped
 * path says "no such store" instead of answering from a new empty one.
 * `migrate` and the target of `store copy` bring the schema up to date.
 * Every failure is a CliError naming the store (never its password).
 */
import { StoreOpenError, StoreUnavailableError } from '../core/errors.js';
import { openStore, openUnsealedStore } from '../app/open-store.js';
import type { Store } from '../store/store.js';
import { CliError, EXIT } from './exit.js';

/** Opens the existing store at `url` and checks that its schema is this herald's. */
export async function openExistingStore(url: string, { unsealed = false }: { unsealed?: boolean } = {}): Promise<Store> {
  const store = await open(url, { create: false, unsealed });
  try {
    const { applied, latest } = await store.schemaVersion();
    if (applied === 0)
      throw new CliError(
        `there is no herald store in ${describeStore(url)} (its schema was never created): check the store setting, or run herald migrate`,
        EXIT.store,
      );
    if (applied < latest)
      throw new CliError(`${describeStore(url)} has schema version ${applied}, this herald needs ${latest}: run herald migrate`, EXIT.store);
    if (applied > latest)
      throw new CliError(`${describeStore(url)} has schema version ${applied}, newer than this herald's ${latest}: upgrade herald`, EXIT.store);
    return store;
  } catch (error) {
    await store.close().catch(() => {});
    throw storeError(error, url);
  }
}

/** Opens (creating when missing) the store at `url` and brings its schema up to date. */
export async function openMigratedStore(url: string): Promise<{ store: Store; version: number }> {
  const store = await open(url, { create: true });
  try {
    return { store, version: await store.migrate() };
  } catch (error) {
    await store.close().catch(() => {});
    throw storeError(error, url);
  }
}

/** `unsealed`: the store as it holds sealed values (`herald keys rotate`); else payloads are sealed and opened with the data keys. */
async function open(url: string, { create, unsealed = false }: { create: boolean; unsealed?: boolean }): Promise<Store> {
  try {
    return await (unsealed ? openUnsealedStore(url, { create }) : openStore(url, { create }));
  } catch (error) {
    throw storeError(error, url);
  }
}

/** A failure to reach or open the store, as one line that names it. */
export function storeError(error: unknown, url: string): unknown {
  if (error instanceof StoreUnavailableError) {
    const cause = error.cause instanceof Error ? error.cause.message : error.message;
    return new CliError(`cannot reach ${describeStore(url)} (${cause}): check that it runs and that the store setting is right`, EXIT.store);
  }
  if (error instanceof StoreOpenError) return new CliError(error.message, EXIT.store);
  return error;
}

/** Where a store is, for messages: the SQLite file, or PostgreSQL's host, port and database (no user, no password). */
export function describeStore(url: string): string {
  if (url.startsWith('sqlite:')) return `the SQLite store ${url.slice('sqlite:'.length)}`;
  try {
    const parsed = new URL(url);
    return `PostgreSQL at ${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname || ''}`;
  } catch {
    return 'the PostgreSQL store (its URL does not parse)';
  }
}
