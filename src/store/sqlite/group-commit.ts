/**
 * Group commit: writes queued during one turn of the event loop share one
 * transaction, so a burst of concurrent requests costs one fsync, not one each.
 * A write that throws is undone alone (the batch is then run again with a
 * savepoint per write); when the commit itself fails (disk full, file read-only, database locked),
 * every write of the batch is rejected and nothing of it is kept.
 *
 * A write is durable (the default) or not. A durable write is answered once
 * its transaction is on disk: the connection commits without waiting
 * (`synchronous = NORMAL`) and WalSync fsyncs the WAL off the event loop, one
 * fsync for every batch committed in that turn. A non-durable write is
 * answered at its COMMIT: it survives a crash of the process (WAL) but a
 * power cut may take it back, never out of order (the WAL is written in
 * order, so the next fsync makes every earlier commit durable too). Claims and
 * attempt records are non-durable: losing the last ones to a power cut means a
 * delivery is sent again (at least once, with the same webhook-id).
 */
import type { Database } from 'better-sqlite3';
import type { WalSync } from './wal-sync.js';
import type { WriteGate } from './write-gate.js';

interface PendingWrite<T> {
  run: () => T;
  durable: boolean;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Upper bound on one transaction, so one huge burst does not stall the event loop. */
const MAX_BATCH = 512;

export class GroupCommit {
  private queue: Array<PendingWrite<unknown>> = [];
  private scheduled = false;
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
    private readonly wal: WalSync,
    private readonly onCommitError: (error: unknown) => unknown = (error) => error,
    /** Shared with the other connections of this process that write (the deliver thread's): one commits at a time. */
    private readonly gate?: WriteGate,
  ) {
    this.inSavepoint = db.transaction((run: () => unknown) => run());
    db.pragma('synchronous = NORMAL');
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

  /**
   * Runs what is queued now. Called by the scheduler, and by close() to drain.
   * While another connection of this process commits (the gate is taken),
   * the queue waits for it without blocking the event loop, and grows.
   */
  flush(): void {
    if (this.gate && !this.gate.tryAcquire()) {
      this.scheduled = true;
      void this.gate.free().then(() => this.flush());
      return;
    }
    this.scheduled = false;
    const waitingForDisk: Array<(syncError?: unknown) => void> = [];
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        if (this.commit(batch, waitingForDisk)) this.stats.durableCommits++;
      }
    } finally {
      this.gate?.release();
    }
    if (waitingForDisk.length === 0) return;
    this.wal.sync().then(
      () => waitingForDisk.forEach((answer) => answer()),
      (error: unknown) => {
        // Committed but perhaps not on disk: refuse (the provider retries and gets "duplicate").
        const failure = this.onCommitError(error);
        waitingForDisk.forEach((answer) => answer(failure));
      },
    );
  }

  /**
   * Commits one batch; answers its non-durable writes, and adds the durable
   * ones' answers to `waitingForDisk` (called with an error if the sync fails).
   * Returns whether any write waits for the disk.
   */
  private commit(batch: Array<PendingWrite<unknown>>, waitingForDisk: Array<(syncError?: unknown) => void>): boolean {
    let outcomes: Outcome[];
    try {
      outcomes = this.runFast(batch) ?? this.runIsolated(batch);
    } catch (error) {
      const failure = this.onCommitError(error);
      for (const write of batch) write.reject(failure);
      return false;
    }
    this.stats.commits++;
    this.stats.writes += batch.length;
    let durable = false;
    batch.forEach((write, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) return write.reject(outcome.error);
      if (!write.durable) return write.resolve(outcome.value);
      durable = true;
      waitingForDisk.push((syncError?: unknown) => (syncError === undefined ? write.resolve(outcome.value) : write.reject(syncError)));
    });
    return durable;
  }

  /**
   * The batch in one transaction without savepoints (a savepoint per write
   * cost a fifth of an event's insert, in the benchmark's measurements).
   * When a write throws, the transaction is rolled back and undefined returned,
   * for runIsolated to redo the batch; a failure to begin or commit is thrown.
   */
  private runFast(batch: Array<PendingWrite<unknown>>): Outcome[] | undefined {
    let writeFailed = false;
    try {
      return this.db
        .transaction(() =>
          batch.map((write): Outcome => {
            try {
              return { ok: true, value: write.run() };
            } catch (error) {
              writeFailed = true;
              throw error;
            }
          }),
        )
        .immediate();
    } catch (error) {
      if (writeFailed) return undefined;
      throw error;
    }
  }

  /** The batch with each write in its own savepoint: a write that throws is undone alone. */
  private runIsolated(batch: Array<PendingWrite<unknown>>): Outcome[] {
    const outcomes: Outcome[] = [];
    this.db
      .transaction(() => {
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
      })
      .immediate();
    return outcomes;
  }

  /** Commits what is queued and waits until every durable write is answered. */
  async close(): Promise<void> {
    this.flush();
    while (this.queue.length > 0 || this.scheduled) await new Promise((resolve) => setImmediate(resolve));
    await this.wal.close();
  }
}
