/**
 * The one place that maps a store setting to a store class: `sqlite:<path>`
 * or `postgres://...`. Part of the composition root, so that nothing else
 * names a store implementation.
 */
import { StoreOpenError } from '../core/errors.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

/**
 * Opens the store a config names. With `create: false` a SQLite file must
 * exist already (PostgreSQL creates nothing until migrate()).
 */
export function openStore(url: string, { create = true }: { create?: boolean } = {}): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), { create });
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url);
  throw new StoreOpenError(`unsupported store "${url.split(':')[0]}": use sqlite:<path> or postgres://...`);
}
