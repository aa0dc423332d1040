/**
 * Copies one store into another (`herald store copy`, e.g. SQLite to
 * PostgreSQL): every event with its dedupe key, routing, deliveries and
 * attempts, in batches, oldest first. Claims are not copied, so pending
 * deliveries are due in the new store as they were. What the target already
 * has is kept, so an interrupted copy can simply be run again.
 */
import type { Store } from './store.js';

export interface CopyProgress {
  /** Events read from the source so far. */
  events: number;
  /** Of those, the ones the target did not have yet. */
  added: number;
}

export async function copyStore(
  from: Store,
  to: Store,
  options: { batchSize?: number; onBatch?: (progress: CopyProgress) => void } = {},
): Promise<CopyProgress> {
  const progress: CopyProgress = { events: 0, added: 0 };
  let after: string | undefined;
  for (;;) {
    const batch = await from.exportEvents(after, options.batchSize ?? 500);
    if (batch.length === 0) return progress;
    progress.added += await to.importEvents(batch);
    progress.events += batch.length;
    after = batch.at(-1)!.event.id;
    options.onBatch?.({ ...progress });
  }
}
