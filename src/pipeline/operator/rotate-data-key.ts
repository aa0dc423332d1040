/**
 * `herald keys rotate`: seals every stored value anew under the current data
 * key (README, "Encryption at rest"), a batch of events at a time, with their
 * deliveries' messages, their attempts' excerpts and their archived media. Values stored before
 * there was any key are sealed too. A serving herald need not stop: each row
 * is written only if it still holds what was read (Store.reseal), so a row it
 * changed meanwhile keeps its change, already sealed under the key that
 * herald has. Once a run finds nothing left under an old key, that key may
 * go from HERALD_DATA_KEYS_OLD.
 */
import { SealedDataError, sealedKeyId, type DataKeyring } from '../../core/sealing.js';
import type { MediaFiles } from '../../store/media-files.js';
import { openMedia, sealMedia } from '../../store/sealed-media-files.js';
import { openEvent, openExcerpt, openMessage, sealEvent, sealExcerpt, sealMessage, storedKeyId } from '../../store/sealed-store.js';
import type { Reseal, Store } from '../../store/store.js';

export interface RotationProgress {
  /** Events looked at so far, of `total`. */
  events: number;
  total: number;
  /** Values written anew so far. */
  resealed: number;
}

export interface RotationReport {
  /** The key everything is sealed under now. */
  keyId: string;
  /** Events looked at. */
  events: number;
  /** Values sealed anew, by kind (`media`: archived media files). */
  resealed: { events: number; messages: number; excerpts: number; media: number };
  /** Values a serving herald changed while they were being sealed: left as it wrote them (run again to check them). */
  changedMeanwhile: number;
}

export interface RotationOptions {
  batchSize?: number;
  /** Archived media's files, as kept (unsealed MediaFiles): each event's file is sealed anew too. */
  mediaFiles?: MediaFiles;
  onProgress?: (progress: RotationProgress) => void;
}

/** `store` is the unsealed store (it hands out values as stored); `keys` must have a current key. */
export async function rotateDataKey(
  store: Store,
  keys: DataKeyring,
  { batchSize = 200, mediaFiles, onProgress }: RotationOptions = {},
): Promise<RotationReport> {
  const keyId = keys.currentKeyId;
  if (keyId === null)
    throw new SealedDataError('there is no current data key to seal under: set HERALD_DATA_KEY (make one with `herald keys generate --data-key`)', null);
  const total = await store.countEvents();
  const report: RotationReport = { keyId, events: 0, resealed: { events: 0, messages: 0, excerpts: 0, media: 0 }, changedMeanwhile: 0 };
  const stale = (stored: Parameters<typeof storedKeyId>[0]) => storedKeyId(stored) !== keyId;
  let after: string | undefined;
  for (;;) {
    const records = await store.exportEvents(after, batchSize);
    if (records.length === 0) break;
    const changes: Reseal[] = [];
    for (const { event, deliveries } of records) {
      if (stale(event)) changes.push({ kind: 'event', id: event.id, from: event, to: sealEvent(keys, openEvent(keys, event)) });
      for (const { delivery, attempts } of deliveries) {
        const { id, message } = delivery;
        if (message !== null && stale(message)) {
          changes.push({ kind: 'message', deliveryId: id, from: message, to: sealMessage(keys, id, openMessage(keys, id, message))! });
        }
        for (const attempt of attempts) {
          const excerpt = attempt.responseExcerpt;
          if (excerpt === null || !stale(excerpt)) continue;
          changes.push({
            kind: 'excerpt',
            deliveryId: id,
            attempt: attempt.attempt,
            from: excerpt,
            to: sealExcerpt(keys, attempt, openExcerpt(keys, attempt, excerpt))!,
          });
        }
      }
    }
    for (const kind of ['event', 'message', 'excerpt'] as const) {
      const ofKind = changes.filter((c) => c.kind === kind);
      if (ofKind.length === 0) continue;
      const written = await store.reseal(ofKind);
      report.resealed[`${kind}s`] += written;
      report.changedMeanwhile += ofKind.length - written;
    }
    if (mediaFiles) {
      for (const { event } of records) if (await resealMedia(store, mediaFiles, keys, event.id)) report.resealed.media += 1;
    }
    report.events += records.length;
    after = records.at(-1)!.event.id;
    const { events, messages, excerpts, media } = report.resealed;
    onProgress?.({ events: report.events, total: Math.max(total, report.events), resealed: events + messages + excerpts + media });
  }
  return report;
}

/**
 * Seals an event's archived file (its id is the event's) anew, when it has one
 * not under the current key; returns whether it did. Files are replaced
 * whole, with no compare-and-swap: a file erased meanwhile (its record gone)
 * is deleted again after.
 */
async function resealMedia(store: Store, files: MediaFiles, keys: DataKeyring, id: string): Promise<boolean> {
  const stored = await files.get(id);
  if (stored === undefined || sealedKeyId(stored) === keys.currentKeyId) return false;
  await files.put(id, sealMedia(keys, id, openMedia(keys, id, stored)));
  if ((await store.getMedia(id)) === undefined) await files.delete(id);
  return true;
}
