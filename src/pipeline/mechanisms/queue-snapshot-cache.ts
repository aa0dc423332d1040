/**
 * One reading of the queue (Store.queueSnapshot) shared by everyone who asks
 * within a few seconds: the metrics' queue gauges and the destinations' health
 * (the console's Destinations page, GET /api/destinations). The store counts
 * every pending delivery to read it: tens of ms on a large queue, about 250 ms
 * at a million deliveries (bench/RESULTS.md), so however many scrapers and
 * pages ask, the store is read at most once per `maxAgeMs`.
 */
import type { QueueSnapshot } from '../../store/store.js';

/** How long one reading of the queue serves those who ask. */
export const QUEUE_SNAPSHOT_MAX_AGE_MS = 5_000;

export interface QueueSnapshotCacheOptions {
  /** How long a snapshot is reused (default QUEUE_SNAPSHOT_MAX_AGE_MS). */
  maxAgeMs?: number;
  /** The clock (tests inject one). */
  now?: () => number;
}

export class QueueSnapshotCache {
  private reading: Promise<QueueSnapshot> | undefined;
  private readAt = -Infinity;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(
    private readonly read: () => Promise<QueueSnapshot>,
    { maxAgeMs = QUEUE_SNAPSHOT_MAX_AGE_MS, now = Date.now }: QueueSnapshotCacheOptions = {},
  ) {
    this.maxAgeMs = maxAgeMs;
    this.now = now;
  }

  /**
   * The snapshot read less than `maxAgeMs` ago (or being read now), else a new
   * one. A reading that fails rejects for those who asked for it and is not
   * kept: the next call reads again.
   */
  get(): Promise<QueueSnapshot> {
    if (this.reading && this.now() - this.readAt >= this.maxAgeMs) this.reading = undefined;
    if (!this.reading) {
      this.readAt = this.now();
      const reading = this.read();
      this.reading = reading;
      reading.catch(() => {
        if (this.reading === reading) this.reading = undefined;
      });
    }
    return this.reading;
  }
}
