/**
 * One serving process per SQLite file. Two `herald serve` on one file would
 * both claim and send every delivery (claims live in each process's memory:
 * claims.ts), so the second refuses to start, naming the first.
 *
 * The lock is an OS file lock, taken through SQLite on a small companion
 * database `<file>.owner`: the owner holds a write transaction open on it for
 * as long as it runs, and the operating system drops that lock when the
 * process ends, however it ends (exit, kill -9, a crash, the OOM killer). So a
 * stale `.owner` after a crash never blocks a restart, and a live owner is
 * never mistaken for a dead one: no pid that could be reused, no heartbeat
 * and no clock. The file also holds who took the lock last (pid, host, time),
 * which a refused process reads to say who serves the file. Readers (the CLI's
 * `events`, `dlq list`, ...) never touch it. Like SQLite's own locking, this
 * needs a local file system: on a network file system locks may not hold.
 */
import Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { StoreOwnedError } from '../../core/errors.js';

/** A refused process waits this long for a starting owner to finish writing who it is. */
const WAIT_MS = 250;

export class SqliteOwnerLock {
  private constructor(private readonly db: Database.Database) {}

  /** Takes the lock of `file` for this process, or throws StoreOwnedError naming the process that holds it. */
  static acquire(file: string): SqliteOwnerLock {
    const db = new Database(`${file}.owner`, { timeout: WAIT_MS });
    try {
      db.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)');
      // Say who we are (committed, so that a refused process can read it), then hold a write
      // transaction until the process ends: SQLite's RESERVED lock lets others read, never write.
      if (tryBegin(db)) {
        db.prepare('INSERT OR REPLACE INTO owner (id, pid, host, since) VALUES (1, ?, ?, ?)').run(process.pid, hostname(), new Date().toISOString());
        db.exec('COMMIT');
        // Another process may have started in between: it won, and wrote its name.
        if (tryBegin(db)) return new SqliteOwnerLock(db);
      }
      const owner = db.prepare('SELECT pid, host, since FROM owner WHERE id = 1').get() as { pid: number; host: string; since: string } | undefined;
      throw new StoreOwnedError(file, owner);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Gives the file up (at shutdown; the OS does it anyway when the process ends). */
  release(): void {
    if (this.db.open) this.db.close();
  }
}

/** BEGIN IMMEDIATE: true once this connection holds the write lock, false when another holds it. */
function tryBegin(db: Database.Database): boolean {
  try {
    db.exec('BEGIN IMMEDIATE');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === 'SQLITE_BUSY') return false;
    throw error;
  }
}
