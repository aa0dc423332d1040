/**
 * Where the bytes of archived media are kept: the one interface every read and
 * write of them goes through (pipeline/stages/media-archive.ts writes, http/media.ts
 * reads, retention deletes), so that a layer such as encryption at rest can
 * wrap it whole. Two implementations: a folder (`media.store: file:<folder>`)
 * and the event store's database (`media.store: store`).
 *
 * Ids are herald's own (UUIDv7 event ids), checked here before they become file
 * names: nothing from a payload or a request path ever names a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Store } from './store.js';

export interface MediaFiles {
  /** Keeps `bytes` under `id`, replacing any; resolves once durable. */
  put(id: string, bytes: Buffer): Promise<void>;
  /** The bytes kept under `id`, or undefined when there are none. */
  get(id: string): Promise<Buffer | undefined>;
  /** Deletes the bytes of `id`; nothing happens when there are none. */
  delete(id: string): Promise<void>;
}

/** What a media id looks like: a UUID (herald's event ids), so it is always a plain file name. */
const MEDIA_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` can be a media id (the HTTP route answers 404 for anything else without looking). */
export function isMediaId(id: string): boolean {
  return MEDIA_ID.test(id);
}

/** A thrown id that is not one: a bug of the caller's, never a payload's doing. */
export class MediaIdError extends Error {
  constructor() {
    super("not a media id (a UUID): media files are named by herald's own ids only");
    this.name = 'MediaIdError';
  }
}

function checked(id: string): string {
  if (!isMediaId(id)) throw new MediaIdError();
  return id;
}

/**
 * Media files in one folder, one file per id: written to a temporary file,
 * synced, renamed into place, and the folder synced, so a file is whole or
 * absent after a crash, and there once put() resolved.
 */
export class FolderMediaFiles implements MediaFiles {
  constructor(private readonly dir: string) {}

  async put(id: string, bytes: Buffer): Promise<void> {
    const file = path.join(this.dir, checked(id));
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temporary = path.join(this.dir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const folder = await open(this.dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }

  async get(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(path.join(this.dir, checked(id)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(id: string): Promise<void> {
    await rm(path.join(this.dir, checked(id)), { force: true });
  }
}

/** Media bytes in the event store's database (a table beside the events). */
export class DatabaseMediaFiles implements MediaFiles {
  constructor(private readonly store: Store) {}

  put(id: string, bytes: Buffer): Promise<void> {
    return this.store.putMediaContent(checked(id), bytes);
  }

  get(id: string): Promise<Buffer | undefined> {
    return this.store.getMediaContent(checked(id));
  }

  delete(id: string): Promise<void> {
    return this.store.deleteMediaContent(checked(id));
  }
}
