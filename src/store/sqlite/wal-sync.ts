/**
 * Makes committed SQLite transactions durable without blocking the event loop.
 *
 * In WAL mode with `synchronous = NORMAL`, a COMMIT writes the transaction's
 * frames to the `-wal` file (the OS has them: they survive a crash of the
 * process) but does not fsync it; `synchronous = FULL` fsyncs it inside the
 * COMMIT, on the calling thread, which for better-sqlite3 is the event loop:
 * 0.5 to 4 ms per commit on the benchmark's machine, during which no request
 * was read and no delivery sent (bench/RESULTS.md). This fsyncs the same file
 * from libuv's thread pool instead (fdatasync works on the file, whichever
 * descriptor wrote it), so the loop goes on while the disk works; the writes
 * that asked for durability are answered after it. SQLite itself syncs the WAL
 * before each checkpoint and the database after it, so frames stay durable
 * when they move into the database file.
 * https://www.sqlite.org/pragma.html#pragma_synchronous, https://www.sqlite.org/wal.html
 */
import { closeSync, fdatasync, fsyncSync, openSync } from 'node:fs';
import path from 'node:path';

export class WalSync {
  private fd: number | undefined;
  /** The fdatasync running now, if any. */
  private running: Promise<void> | undefined;
  /** The one that starts when it ends: every sync() asked for meanwhile shares it. */
  private next: Promise<void> | undefined;

  /** `file` is the database file; null for an in-memory database (nothing to sync). */
  constructor(private readonly file: string | null) {}

  /**
   * Resolves once everything committed so far is on disk. One fdatasync runs
   * at a time: a sync asked for while one runs waits for it to end, then shares
   * a single fdatasync with every other sync asked for in the meantime, so the
   * disk sees one flush per round however many batches committed, and the
   * event loop goes on committing while it works.
   */
  sync(): Promise<void> {
    if (this.file === null) return Promise.resolve();
    if (this.next !== undefined) return this.next;
    if (this.running === undefined) return this.start();
    this.next = this.running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  private start(): Promise<void> {
    this.next = undefined;
    const synced = new Promise<void>((resolve, reject) => {
      fdatasync(this.walFd(), (error) => (error ? reject(error) : resolve()));
    });
    this.running = synced;
    const done = () => {
      if (this.running === synced) this.running = undefined;
    };
    synced.then(done, done);
    return synced;
  }

  /** Waits for the syncs in flight, then closes the file. */
  async close(): Promise<void> {
    await Promise.allSettled([this.running, this.next]);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private walFd(): number {
    if (this.fd === undefined) {
      this.fd = openSync(`${this.file}-wal`, 'r');
      // The -wal file may just have been created: its directory entry must reach the disk too (once, at the first sync).
      const dir = openSync(path.dirname(this.file!), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
    }
    return this.fd;
  }
}
