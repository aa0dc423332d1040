/**
 * Deliveries to a destination that left the config would wait forever: no
 * process claims them, and retention keeps their events (personal data) while
 * they are pending. They become dead letters with the reason
 * `destination-removed` instead, visible and retryable once the destination
 * is back. Run when a config takes effect (start-up, each applied reload) and
 * before each retention pass.
 */
import type { Logger } from '../../core/log.js';
import type { Store } from '../../store/store.js';

/** The destinations of the config in force, and since when it is in force (ms). */
export interface ConfiguredDestinations {
  names: readonly string[];
  since: number;
}

/** Dead-letters the pending deliveries to destinations not in the config; returns how many. */
export async function deadLetterRemovedDestinations(store: Store, configured: ConfiguredDestinations, log: Logger, now = Date.now()): Promise<number> {
  const count = await store.deadLetterRemovedDestinations(configured.names, configured.since, now);
  if (count > 0) log.warn({ deliveries: count }, 'deliveries to destinations no longer in the config are dead letters now (destination-removed)');
  return count;
}
