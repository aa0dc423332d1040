/**
 * Group commit: writes queued during one turn of the event loop share one
 * transaction, so a burst of concurrent requests costs one fsync, not one each.
 * Each write runs in its own savepoint, so a write that throws is undone alone;
 * when the commit itself fails (disk full, file read-only, database locked),
 * every write of the batch is rejected and nothing of it is kept.
 *
 * A write is durable (the default: the commit waits for the disk, fsync) or
 * not: a batch of only non-durable writes commits with `synchronous = NORMAL`,
 * which in WAL mode survives a crash of the process but may be rolled back by
 * a power cut, and never out of order: the next durable commit makes every
 * earlier one durable too. Claims and attempt records are non-durable: losing
 * the last ones to a power cut means a delivery is sent again (at least once,
 * with the same webhook-id), and draining a backlog no longer waits for the
 * disk after every few attempts.
 */
import type { Database } from 'better-sqlite3';

interface PendingWrite<T> {
  run: () => T;
  durable: boolean;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** Upper bound on one transaction, so one huge burst does not stall the event loop. */
const MAX_BATCH = 512;

export class GroupCommit {
  private queue: Array<PendingWrite<unknown>> = [];
  private scheduled = false;
  /** The connection's `synchronous` setting: FULL (true) or NORMAL. */
  private syncFull: boolean;
  /** Committed transactions and the writes they carried, for tests and metrics. */
  readonly stats = { commits: 0, writes: 0, durableCommits: 0 };
  /**
   * Runs one write in a savepoint (it is always called inside the shared
   * transaction). Built once: better-sqlite3 builds a new wrapper for every
   * `db.transaction(fn)`, which cost more than many writes themselves.
   */
  private readonly inSavepoint: (run: () => unknown) => unknown;

  constructor(
    private readonly db: Database,
    private readonly onCommitError: (error: unknown) => unknown = (error) => error,
  ) {
    this.inSavepoint = db.transaction((run: () => unknown) => run());
    db.pragma('synchronous = FULL');
    this.syncFull = true;
  }

  /**
   * Queues `run` for the next shared transaction; resolves with its result once
   * committed (durably, unless `durable` is false: see above).
   */
  write<T>(run: () => T, { durable = true }: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, durable, resolve, reject } as PendingWrite<unknown>);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs what is queued now. Called by the scheduler, and by close() to drain. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.commit(batch);
    }
  }

  private commit(batch: Array<PendingWrite<unknown>>): void {
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      const durable = batch.some((write) => write.durable);
      if (durable !== this.syncFull) {
        this.db.pragma(`synchronous = ${durable ? 'FULL' : 'NORMAL'}`);
        this.syncFull = durable;
      }
      this.db.transaction(() => {
        for (const write of batch) {
          // SQLite rolls the whole transaction back on some errors (disk full, I/O):
          // then nothing more may run outside it, or it would commit on its own.
          if (!this.db.inTransaction) throw new Error('the shared transaction was rolled back');
          try {
            outcomes.push({ ok: true, value: this.inSavepoint(write.run) });
          } catch (error) {
            outcomes.push({ ok: false, error });
          }
        }
      }).immediate();
    } catch (error) {
      const failure = this.onCommitError(error);
      for (const write of batch) write.reject(failure);
      return;
    }
    this.stats.commits++;
    if (this.syncFull) this.stats.durableCommits++;
    this.stats.writes += batch.length;
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }
}
