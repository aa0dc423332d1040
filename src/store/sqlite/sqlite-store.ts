/**
 * The embedded store: one SQLite file in WAL mode, owned by one herald process.
 * `synchronous = FULL` makes each commit durable (an acknowledged event survives
 * a crash of the process or of the machine); group commit keeps that affordable.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import { StoreUnavailableError } from '../../core/errors.js';
import type { EventFilter, InsertResult, NewEvent, Store } from '../store.js';
import { GroupCommit } from './group-commit.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

/** How long a write waits for a lock held by another connection before the store reports itself unavailable. */
const BUSY_TIMEOUT_MS = 1000;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly writes: GroupCommit;

  /** `file` is a path, or `:memory:` for tests. */
  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.writes = new GroupCommit(this.db, (error) => new StoreUnavailableError(error));
  }

  async migrate(): Promise<number> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
    const record = this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    SQLITE_MIGRATIONS.forEach((sql, index) => {
      const version = index + 1;
      if (version <= applied.v) return;
      this.db.transaction(() => {
        this.db.exec(sql);
        record.run(version, new Date().toISOString());
      }).immediate();
    });
    return SQLITE_MIGRATIONS.length;
  }

  insertEvent({ event, dedupeKey, dedupeUntilMs }: NewEvent): Promise<InsertResult> {
    const claimKey = this.statement(
      `INSERT INTO event_dedupe (source, dedupe_key, event_id, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (source, dedupe_key) DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at
       WHERE event_dedupe.expires_at <= ?
       RETURNING event_id`,
    );
    const findKey = this.statement('SELECT event_id FROM event_dedupe WHERE source = ? AND dedupe_key = ?');
    const insert = this.statement(
      `INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at,
                           provider_event_id, dedupe_key, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.writes.write((): InsertResult => {
      const now = Date.now();
      const claimed = claimKey.get(event.source, dedupeKey, event.id, dedupeUntilMs, now);
      if (!claimed) {
        const existing = findKey.get(event.source, dedupeKey) as { event_id: string };
        return { status: 'duplicate', id: existing.event_id };
      }
      insert.run(
        event.id, event.source, event.provider, event.type, event.category, event.outcome, event.subject,
        event.time, event.receivedAt, event.providerEventId, dedupeKey, JSON.stringify(event),
      );
      return { status: 'stored', id: event.id };
    });
  }

  async getEvent(id: string): Promise<NormalizedEvent | undefined> {
    const row = this.statement('SELECT body FROM events WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as NormalizedEvent);
  }

  async listEvents(filter: EventFilter = {}): Promise<NormalizedEvent[]> {
    const rows = this.statement(
      `SELECT body FROM events
       WHERE (@source IS NULL OR source = @source) AND (@after IS NULL OR id > @after)
       ORDER BY id LIMIT @limit`,
    ).all({ source: filter.source ?? null, after: filter.after ?? null, limit: filter.limit ?? 100 }) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as NormalizedEvent);
  }

  async countEvents(): Promise<number> {
    return (this.statement('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  }

  async ping(): Promise<void> {
    try {
      this.statement('SELECT 1').get();
    } catch (error) {
      throw new StoreUnavailableError(error);
    }
  }

  /** How many commits carried how many writes: group commit at work. */
  commitStats(): { commits: number; writes: number } {
    return { ...this.writes.stats };
  }

  async close(): Promise<void> {
    this.writes.flush();
    this.db.close();
  }

  /** Prepared statements are cached by better-sqlite3's callers, not by it: keep one per SQL text. */
  private readonly statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
