/**
 * Retention: events older than `retention` (default 30 days) are deleted with
 * their deliveries and attempts, and expired dedupe keys with them, in bounded
 * batches so one pass never holds the store for long. Events still waiting to
 * be routed or delivered are kept (the store decides that); deliveries to
 * destinations that left the config are dead-lettered first, so they do not
 * keep their events forever. Archived media go with their events: after the
 * events, the media whose event is gone are deleted, bytes then record.
 */
import type { Logger } from '../../core/log.js';
import type { Store } from '../../store/store.js';
import type { MediaFiles } from '../../store/media-files.js';
import { deleteOrphanedMedia } from '../stages/media-archive.js';
import { deadLetterRemovedDestinations, type ConfiguredDestinations } from './removed-destinations.js';

const BATCH = 500;
const EVERY_MS = 60 * 60_000;
/** A first pass soon after start-up, not during it. */
const FIRST_AFTER_MS = 60_000;

/**
 * Runs one pruning pass; returns how many events, keys and media files it
 * deleted. With the configured destinations, pending deliveries to any other
 * destination are dead-lettered first (removed-destinations.ts); with the
 * media files, the files of deleted events are deleted after them.
 */
export async function pruneOnce(
  store: Store,
  retentionMs: number,
  now = Date.now(),
  removed?: { configured: ConfiguredDestinations; log: Logger },
  mediaFiles?: MediaFiles,
): Promise<{ events: number; keys: number; media: number }> {
  if (removed) await deadLetterRemovedDestinations(store, removed.configured, removed.log, now);
  let events = 0;
  let keys = 0;
  for (let n = BATCH; n === BATCH; events += n) n = await store.pruneEvents(now - retentionMs, BATCH);
  for (let n = BATCH; n === BATCH; keys += n) n = await store.pruneDedupeKeys(now, BATCH);
  const media = mediaFiles ? await deleteOrphanedMedia(store, mediaFiles, BATCH) : 0;
  return { events, keys, media };
}

/** Prunes every hour; returns a function that stops it. */
export function schedulePruning(store: Store, retentionMs: number, log: Logger, configured: () => ConfiguredDestinations, mediaFiles?: MediaFiles): () => void {
  const run = () =>
    pruneOnce(store, retentionMs, Date.now(), { configured: configured(), log }, mediaFiles).then(
      (pruned) => (pruned.events + pruned.keys + pruned.media > 0 ? log.info(pruned, 'retention: pruned old events, dedupe keys and media') : undefined),
      (error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'retention pruning failed; will try again'),
    );
  let timer = setTimeout(function tick() {
    void run().finally(() => (timer = setTimeout(tick, EVERY_MS).unref()));
  }, FIRST_AFTER_MS).unref();
  return () => clearTimeout(timer);
}
