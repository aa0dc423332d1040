/**
 * The media archive (README, "Media archive"): a media event's file is
 * downloaded before the event is routed, while its URL still works (FaceSign's
 * expire 15 minutes after they are made), checked, and kept; rules and
 * templates then see `event.media.archived` and link to herald's copy.
 *
 * It runs as a step of the enrich stage (enrich.ts), so it is durable work in
 * the store: it survives restarts, is retried with backoff on network errors,
 * time-outs, 408, 429 and 5xx until the URL's `expires`, and then, or at once
 * on any other failure, the event is routed with `media.archived: null` and
 * `media.archiveError` saying why (the notification then carries the original
 * link).
 *
 * What is kept must be what the event says it is: the URL's host is one of
 * `media.allowedHosts`, the size at most `media.maxBytes` (counted while
 * downloading), and the event's `contentType` (or, when it has none, the
 * answer's) equals the type the bytes' own magic numbers give (file-type).
 * The record goes to the store before the bytes go to the media files, so no
 * bytes are ever kept without a record to delete them by.
 */
import { createHash } from 'node:crypto';
import type { MediaConfig } from '../../core/config.js';
import { MediaArchiveError } from '../../core/errors.js';
import type { ArchivedMedia, NormalizedEvent } from '../../core/event.js';
import { mediaType, type DownloadedMedia } from '../../channels/media-download.js';
import type { MediaFiles } from '../../store/media-files.js';
import type { Store } from '../../store/store.js';

/** When an event's media URL stops working (ms); FaceSign's last 15 minutes, which is assumed when `expires` is absent. */
export function mediaExpiresAt(event: NormalizedEvent): number {
  const expires = event.media?.expires;
  return expires ? Date.parse(expires) : Date.parse(event.receivedAt) + 15 * 60_000;
}

/** A media event: one with a media file (FaceSign's media.*). */
export function isMediaEvent(event: NormalizedEvent): boolean {
  return event.media !== undefined && event.type.startsWith('media.');
}

/** Whether an event's file is archived before it is routed: a media event, with an archive configured. */
export function archivesMedia(media: MediaConfig | undefined, event: NormalizedEvent): boolean {
  return media !== undefined && isMediaEvent(event);
}

/** Names of one type that file-type and providers write differently. */
const SAME_TYPE = new Map([
  ['image/jpg', 'image/jpeg'],
  ['image/pjpeg', 'image/jpeg'],
  ['video/x-m4v', 'video/mp4'],
]);
const canonical = (type: string) => SAME_TYPE.get(type) ?? type;

export interface MediaArchiverDeps {
  store: Store;
  files: MediaFiles;
  media: MediaConfig;
  /** Downloads a URL (channels/media-download.ts). */
  download: (url: string, now: number) => Promise<DownloadedMedia>;
}

export class MediaArchiver {
  constructor(private readonly deps: MediaArchiverDeps) {}

  /** Downloads, checks and keeps the event's file; throws MediaArchiveError. */
  async archive(event: NormalizedEvent, now: number): Promise<ArchivedMedia> {
    const { media: settings, store, files } = this.deps;
    const media = event.media!;
    const host = hostOf(media.url);
    if (host === undefined || !settings.allowedHosts.includes(host)) {
      throw new MediaArchiveError(false, `the media URL's host${host ? ` "${host}"` : ''} is not in media.allowedHosts: add it there to archive its files`);
    }
    const downloaded = await this.deps.download(media.url, now);
    const declared = mediaType(media.contentType) ?? downloaded.contentType;
    if (declared === null) throw new MediaArchiveError(false, 'neither the event nor the media host says what type the file is');
    // Loaded at the first download (an ES module, so imported): a herald without a media archive never loads it.
    const { fileTypeFromBuffer } = await import('file-type');
    const detected = (await fileTypeFromBuffer(downloaded.bytes))?.mime;
    if (detected === undefined) throw new MediaArchiveError(false, `the file's bytes are not of a type herald recognises (the event says ${declared})`);
    if (canonical(detected) !== canonical(declared)) {
      throw new MediaArchiveError(false, `the file's bytes are ${detected}, but the event says ${declared}`);
    }
    const archived: ArchivedMedia = {
      id: event.id,
      sha256: createHash('sha256').update(downloaded.bytes).digest('hex'),
      bytes: downloaded.bytes.length,
      contentType: canonical(detected),
      archivedAt: new Date(now).toISOString(),
    };
    await store.putMedia({
      id: archived.id,
      eventId: event.id,
      subject: event.subject,
      sha256: archived.sha256,
      bytes: archived.bytes,
      contentType: archived.contentType,
      createdAt: now,
    });
    await files.put(archived.id, downloaded.bytes);
    return archived;
  }
}

/** The event with the archive's result: the archived file, or null and why not. */
export function withArchive(event: NormalizedEvent, archived: ArchivedMedia | null, error: string | null): NormalizedEvent {
  return { ...event, media: { ...event.media!, archived, ...(error !== null && { archiveError: error }) } };
}

/** Deletes the files (bytes, then record) of media whose event is gone; returns how many. */
export async function deleteOrphanedMedia(store: Store, files: MediaFiles, batch = 500): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = await store.orphanedMedia(batch);
    for (const id of ids) {
      await files.delete(id);
      await store.deleteMedia(id);
    }
    deleted += ids.length;
    if (ids.length < batch) return deleted;
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}
