/**
 * Archived media at rest (README, "Encryption at rest"): MediaFiles that seal
 * the bytes under the current data key before the files under them keep them
 * (a folder or the database), and open them as they are read. Bytes kept
 * before there was a key are read as they are; `herald keys rotate` seals them.
 */
import { isSealedBytes, type DataKeyring } from '../core/sealing.js';
import type { MediaFiles } from './media-files.js';

/** What a media file's bytes are bound to: its id, so sealed bytes moved to another id do not open. */
export const mediaContext = (id: string) => `media:${id}`;

export function sealMedia(keys: DataKeyring, id: string, bytes: Buffer): Buffer {
  return keys.sealing ? keys.sealBytes(bytes, mediaContext(id)) : bytes;
}

export function openMedia(keys: DataKeyring, id: string, stored: Buffer): Buffer {
  return isSealedBytes(stored) ? keys.openBytes(stored, mediaContext(id)) : stored;
}

export class SealedMediaFiles implements MediaFiles {
  constructor(
    readonly inner: MediaFiles,
    private readonly keys: DataKeyring,
  ) {}

  put(id: string, bytes: Buffer): Promise<void> {
    return this.inner.put(id, sealMedia(this.keys, id, bytes));
  }

  async get(id: string): Promise<Buffer | undefined> {
    const stored = await this.inner.get(id);
    return stored && openMedia(this.keys, id, stored);
  }

  delete(id: string): Promise<void> {
    return this.inner.delete(id);
  }
}
