/**
 * The one place that maps a store setting to a store class: `sqlite:<path>`
 * or `postgres://...`, and a media setting to where media files are kept.
 * Part of the composition root, so that nothing else names a store
 * implementation.
 */
import type { MediaConfig } from '../core/config.js';
import { StoreOpenError } from '../core/errors.js';
import { DataKeyring } from '../core/sealing.js';
import { DatabaseMediaFiles, FolderMediaFiles, type MediaFiles } from '../store/media-files.js';
import { SealedStore } from '../store/sealed-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';

/**
 * Opens the store a config names, sealing payloads with `keys` (by default
 * the data keys in HERALD_DATA_KEY and HERALD_DATA_KEYS_OLD: README,
 * "Encryption at rest"). With `create: false` a SQLite file must exist
 * already (PostgreSQL creates nothing until migrate()).
 */
export async function openStore(
  url: string,
  { create = true, keys, sqliteBusyTimeoutMs }: { create?: boolean; keys?: DataKeyring; sqliteBusyTimeoutMs?: number } = {},
): Promise<SealedStore> {
  return new SealedStore(await openUnsealedStore(url, { create, sqliteBusyTimeoutMs }), keys ?? DataKeyring.fromEnv(process.env));
}

/**
 * The store itself, which holds sealed values as they are: for `herald keys
 * rotate`, which seals them anew. The PostgreSQL store (and its driver) is
 * loaded only for a postgres:// URL: a herald on SQLite never loads it.
 */
export async function openUnsealedStore(
  url: string,
  { create = true, sqliteBusyTimeoutMs }: { create?: boolean; sqliteBusyTimeoutMs?: number } = {},
): Promise<Store> {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length), { create, busyTimeoutMs: sqliteBusyTimeoutMs });
  if (/^postgres(ql)?:\/\//.test(url)) {
    const { PostgresStore } = await import('../store/postgres/postgres-store.js');
    return new PostgresStore(url);
  }
  throw new StoreOpenError(`unsupported store "${url.split(':')[0]}": use sqlite:<path> or postgres://...`);
}

/** Where archived media's bytes are kept, as they are kept (sealed or not): in a folder, or in `store`'s database. */
export function openMediaFiles(settings: MediaConfig, store: Store): MediaFiles {
  return settings.store.kind === 'folder' ? new FolderMediaFiles(settings.store.dir) : new DatabaseMediaFiles(store);
}
