/**
 * The embedded store: one SQLite file in WAL mode, owned by one herald process.
 * Every write that asks for it is on disk before it resolves (an acknowledged
 * event survives a crash of the process or of the machine); group commit keeps
 * that affordable, and WalSync keeps the fsync off the event loop.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import { StoreOpenError, StoreUnavailableError } from '../../core/errors.js';
import type {
  AddedDeliveries,
  Attempt,
  AttemptVerdict,
  AuditEntry,
  Batch,
  BatchClaimRequest,
  BatchCompletion,
  BatchSchedule,
  AuditFilter,
  ClaimRequest,
  DeadLetterFilter,
  Delivery,
  DeliveryFilter,
  EnrichmentClaim,
  EnrichmentClaimRequest,
  EnrichmentOutcome,
  ErasedSubject,
  EventFilter,
  EventRecord,
  EventRouting,
  InsertResult,
  ListOrder,
  NewDelivery,
  NewEvent,
  QueueSnapshot,
  RecentAttempts,
  RecentDeadLetters,
  Reseal,
  RoutingError,
  Store,
  StoredMedia,
} from '../store.js';
import { addToBatch, completeBatch, dueBatches, scheduleBatch } from './batches.js';
import { eraseSubject, reseal } from './erase-and-reseal.js';
import { exportEventRecords, importEventRecords } from './event-records.js';
import { ClaimBook } from './claims.js';
import { GroupCommit } from './group-commit.js';
import { SqliteOwnerLock } from './owner-lock.js';
import { WalSync } from './wal-sync.js';
import { Checkpointer, DEFAULT_AUTOCHECKPOINT_PAGES, FALLBACK_AUTOCHECKPOINT_PAGES } from './checkpointer.js';
import { WriteGate } from './write-gate.js';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { messageText, toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from '../rows.js';
import type { ThreadClaimRequest, ThreadParent, ThreadRecord } from '../../core/threads.js';

/**
 * The WHERE clause of an EventFilter: only the fields that are set, so that
 * SQLite can use an index for them (a `@x IS NULL OR ...` term hides the
 * index from its planner). received_at is ISO-8601 UTC text: it compares as text.
 */
function eventFilterSql(filter: EventFilter): string {
  const terms = (['source', 'provider', 'type', 'category', 'outcome', 'subject'] as const)
    .filter((field) => filter[field] !== undefined)
    .map((field) => `${field} = @${field}`);
  if (filter.since !== undefined) terms.push('received_at >= @since');
  if (filter.until !== undefined) terms.push('received_at < @until');
  // Dead and pending deliveries are few, with partial indexes of their own: start from them (the status
  // is written into the SQL, from a fixed list, so that the planner can pick the index). Most are delivered.
  if (filter.delivery === 'dead' || filter.delivery === 'pending') terms.push(`id IN (SELECT event_id FROM deliveries WHERE status = '${filter.delivery}')`);
  else if (filter.delivery !== undefined) terms.push('EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = @delivery)');
  return terms.length === 0 ? '1' : terms.join(' AND ');
}

function eventFilterParams(filter: EventFilter) {
  return {
    source: filter.source ?? null,
    provider: filter.provider ?? null,
    type: filter.type ?? null,
    category: filter.category ?? null,
    outcome: filter.outcome ?? null,
    subject: filter.subject ?? null,
    since: isoOrNull(filter.since),
    until: isoOrNull(filter.until),
    delivery: filter.delivery ?? null,
  };
}

/** The keyset cursor and order of a listing by id: `id > @after ORDER BY id`, or the reverse for `desc`. */
function keyset(order: ListOrder | undefined): string {
  return order === 'desc' ? '(@after IS NULL OR id < @after) ORDER BY id DESC' : '(@after IS NULL OR id > @after) ORDER BY id';
}

function isoOrNull(time: string | undefined): string | null {
  return time === undefined ? null : new Date(time).toISOString();
}

/**
 * Claims and attempt records commit without waiting for the disk (see
 * GroupCommit): a power cut that loses the last of them makes a delivery go
 * out again, which at-least-once delivery allows; events and the deliveries
 * routing creates are always durable.
 */
const NOT_DURABLE = { durable: false };

/** A new delivery, pending or dead (a template that failed to render): when routed, and when added by a replay. */
const INSERT_NEW_DELIVERY = `
INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at,
                        created_at, updated_at, last_error)
VALUES (@id, @eventId, @rule, @destination, @template, @message, @status, @now, @now, @now, @error)`;

function newDeliveryParams(eventId: string, d: NewDelivery, now: number) {
  return {
    id: d.id,
    eventId,
    rule: d.rule,
    destination: d.destination,
    template: d.template,
    message: messageText(d.message),
    status: d.status,
    now,
    error: d.error ?? null,
  };
}

/** Opens (and with `create`, creates) the database file; every failure is a StoreOpenError naming the file. */
function openDatabase(file: string, create: boolean, busyTimeoutMs: number): Database.Database {
  if (file === ':memory:') return new Database(file, { timeout: busyTimeoutMs });
  if (!create && !existsSync(file)) {
    throw new StoreOpenError(`there is no store at ${file} (no such SQLite file): check the store setting, or start herald serve once to create it`);
  }
  try {
    if (create) mkdirSync(path.dirname(file), { recursive: true });
    return new Database(file, { timeout: busyTimeoutMs, fileMustExist: !create });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    throw new StoreOpenError(`cannot ${create ? 'create' : 'open'} the SQLite store at ${file} (${code}): check that its folder can be created and written`, {
      cause: error,
    });
  }
}
/** The dead letter's reason when its destination left the config (SQL: it names the row's destination). */
const DESTINATION_REMOVED_ERROR = `'destination-removed: destination "' || destination || '" is no longer in the config; retry the delivery once it is back'`;

/**
 * Readiness wants this much free space where the store's file is: four
 * webhooks at the default body limit. A full disk does not always fail the
 * probe's one-row write: after a checkpoint, SQLite writes the WAL again from
 * its start, into space the file already has.
 */
export const MIN_FREE_BYTES = 1024 * 1024;

/** How long a write waits for a lock held by another connection before the store reports itself unavailable. */
const BUSY_TIMEOUT_MS = 1000;

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly writes: GroupCommit;
  private readonly claims = new ClaimBook();
  private ownerLock: SqliteOwnerLock | undefined;
  /** WAL checkpoints off the event loop, while this process serves (checkpointer.ts). */
  private checkpointer: Checkpointer | undefined;
  private readonly checkpointEveryMs: number | undefined;
  /** Taken around each commit; a second connection of this process to the file shares it. */
  readonly gate: WriteGate;
  /**
   * Runs reads in one read transaction: its statements share one snapshot
   * and one WAL read lock, where each statement on its own takes and drops
   * its own (bench/RESULTS.md: a claim of 8 deliveries, 9 statements, took
   * 87 µs alone and 33 µs in one transaction). Built once, as in GroupCommit.
   */
  private readonly inOneRead: <T>(read: () => T) => T;

  /**
   * `file` is a path, or `:memory:` for tests. With `create: false` (the
   * commands that only work on an existing store) a missing file is an error,
   * not a new empty store.
   */
  constructor(
    readonly file: string,
    {
      create = true,
      gate = new WriteGate(),
      busyTimeoutMs = BUSY_TIMEOUT_MS,
      checkpointEveryMs,
    }: {
      create?: boolean;
      /** Shared by this process's connections to the file that write (the deliver thread's: pipeline/deliver-thread.ts). */
      gate?: WriteGate;
      /** How long a write waits for a lock another connection holds before the store reports itself unavailable (tests shorten it). */
      busyTimeoutMs?: number;
      /** How often the checkpoint thread of a serving store checkpoints (tests shorten it). */
      checkpointEveryMs?: number;
    } = {},
  ) {
    this.gate = gate;
    this.checkpointEveryMs = checkpointEveryMs;
    this.db = openDatabase(file, create, busyTimeoutMs);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    // Statement journals (savepoints) in memory, not in temporary files: a third of an insert's system time.
    this.db.pragma('temp_store = MEMORY');
    // Deleted rows are overwritten with zeros, not left in free pages: an erased subject (README, "Erasure")
    // or a payload sealed anew by `herald keys rotate` is gone from the file, not only from the tables.
    this.db.pragma('secure_delete = ON');
    this.inOneRead = this.db.transaction((read: () => unknown) => read()) as <T>(read: () => T) => T;
    this.writes = new GroupCommit(this.db, new WalSync(file === ':memory:' ? null : file), (error) => new StoreUnavailableError(error), gate);
  }

  /** Changes busyTimeoutMs of an open store (tests). */
  setBusyTimeout(ms: number): void {
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(ms))}`);
  }

  async schemaVersion(): Promise<{ applied: number; latest: number }> {
    const table = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    const applied = table ? (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v : 0;
    return { applied, latest: SQLITE_MIGRATIONS.length };
  }

  async migrate(): Promise<number> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const applied = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number };
    const record = this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
    SQLITE_MIGRATIONS.forEach((sql, index) => {
      const version = index + 1;
      if (version <= applied.v) return;
      this.db
        .transaction(() => {
          this.db.exec(sql);
          record.run(version, new Date().toISOString());
        })
        .immediate();
    });
    return SQLITE_MIGRATIONS.length;
  }

  async insertEvent({ event, dedupeKey, dedupeUntilMs, enrichDueAtMs, route }: NewEvent): Promise<InsertResult> {
    const claimKey = this.statement(
      `INSERT INTO event_dedupe (source, dedupe_key, event_id, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (source, dedupe_key) DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at
       WHERE event_dedupe.expires_at <= ?
       RETURNING event_id`,
    );
    const findKey = this.statement('SELECT event_id FROM event_dedupe WHERE source = ? AND dedupe_key = ?');
    const insert = this.statement(
      `INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at,
                           provider_event_id, dedupe_key, body, enrich_due_at, routed_at, rules_version, routing_errors)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    return this.writes.write((): InsertResult => {
      const now = Date.now();
      const claimed = claimKey.get(event.source, dedupeKey, event.id, dedupeUntilMs, now);
      if (!claimed) {
        const existing = findKey.get(event.source, dedupeKey) as { event_id: string };
        return { status: 'duplicate', id: existing.event_id };
      }
      // Routed in this write: the event's row, its deliveries and batch entries reach the disk once, in one
      // commit, where routing it later rewrote the row and took a second commit (bench/RESULTS.md).
      const routing = route?.();
      insert.run(
        event.id,
        event.source,
        event.provider,
        event.type,
        event.category,
        event.outcome,
        event.subject,
        event.time,
        event.receivedAt,
        event.providerEventId,
        dedupeKey,
        JSON.stringify(event),
        enrichDueAtMs ?? null,
        routing ? new Date(now).toISOString() : null,
        routing?.rulesVersion ?? null,
        routing?.errors?.length ? JSON.stringify(routing.errors) : null,
      );
      if (routing) this.writeRouting(routing, now);
      return { status: 'stored', id: event.id };
    });
  }

  async getEvent(id: string): Promise<NormalizedEvent | undefined> {
    const row = this.statement('SELECT body FROM events WHERE id = ?').get(id) as { body: string } | undefined;
    return row && (JSON.parse(row.body) as NormalizedEvent);
  }

  async routedEventIds(ids: readonly string[]): Promise<Set<string>> {
    const routed = this.statement('SELECT 1 FROM events WHERE id = ? AND routed_at IS NOT NULL');
    return new Set(ids.filter((id) => routed.get(id) !== undefined));
  }

  async routingErrors(eventId: string): Promise<RoutingError[]> {
    const row = this.statement('SELECT routing_errors FROM events WHERE id = ?').get(eventId) as { routing_errors: string | null } | undefined;
    return row?.routing_errors ? (JSON.parse(row.routing_errors) as RoutingError[]) : [];
  }

  async listEvents(filter: EventFilter = {}): Promise<NormalizedEvent[]> {
    const rows = this.statement(`SELECT body FROM events WHERE ${eventFilterSql(filter)} AND ${keyset(filter.order)} LIMIT @limit`).all({
      ...eventFilterParams(filter),
      after: filter.after ?? null,
      limit: filter.limit ?? 100,
    }) as Array<{ body: string }>;
    return rows.map((r) => JSON.parse(r.body) as NormalizedEvent);
  }

  async countEvents(filter: EventFilter = {}): Promise<number> {
    return (this.statement(`SELECT COUNT(*) AS n FROM events WHERE ${eventFilterSql(filter)}`).get(eventFilterParams(filter)) as { n: number }).n;
  }

  async unroutedEvents(limit: number): Promise<NormalizedEvent[]> {
    const rows = this.statement('SELECT body FROM events WHERE routed_at IS NULL AND enrich_due_at IS NULL ORDER BY id LIMIT ?').all(limit) as Array<{
      body: string;
    }>;
    return rows.map((r) => JSON.parse(r.body) as NormalizedEvent);
  }

  async markRouted(routings: EventRouting[]): Promise<void> {
    const mark = this.statement('UPDATE events SET routed_at = ?, rules_version = ?, routing_errors = ? WHERE id = ? AND routed_at IS NULL');
    return this.writes.write(() => {
      const now = Date.now();
      for (const routing of routings) {
        // Already routed (by an earlier run that crashed before acknowledging): keep what it made.
        const errors = routing.errors?.length ? JSON.stringify(routing.errors) : null;
        if (mark.run(new Date(now).toISOString(), routing.rulesVersion, errors, routing.eventId).changes === 0) continue;
        this.writeRouting(routing, now);
      }
    });
  }

  /** A routed event's deliveries and batch entries (inside a write). */
  private writeRouting(routing: EventRouting, now: number): void {
    const insert = this.statement(INSERT_NEW_DELIVERY);
    for (const d of routing.deliveries) insert.run(newDeliveryParams(routing.eventId, d, now));
    for (const entry of routing.batched ?? []) addToBatch((sql) => this.statement(sql), routing.eventId, entry);
  }

  /** One process sends batches, one at a time: a due batch is simply read. */
  async claimDueBatches({ limit, now }: BatchClaimRequest): Promise<Batch[]> {
    return dueBatches((sql) => this.statement(sql), limit, now);
  }

  async completeBatch(_claimant: string, completion: BatchCompletion): Promise<boolean> {
    return this.writes.write(() => completeBatch((sql) => this.statement(sql), completion, Date.now()));
  }

  async scheduleBatch(schedule: BatchSchedule): Promise<void> {
    await this.writes.write(() => scheduleBatch((sql) => this.statement(sql), schedule));
  }

  async nextBatchDueAt(): Promise<number | undefined> {
    const row = this.statement('SELECT MIN(due_at) AS due FROM batches WHERE due_at IS NOT NULL').get() as { due: number | null };
    return row.due ?? undefined;
  }

  async claimEventsToEnrich({ limit, leaseMs, now }: EnrichmentClaimRequest): Promise<EnrichmentClaim[]> {
    const claim = this.statement(
      `UPDATE events SET enrich_due_at = @leasedUntil, enrich_attempts = enrich_attempts + 1, enrich_leased = 1
       WHERE id IN (SELECT id FROM events INDEXED BY events_enrich_due
                    WHERE enrich_due_at <= @now AND routed_at IS NULL ORDER BY enrich_due_at, id LIMIT @limit)
       RETURNING body, enrich_attempts AS attempts`,
    );
    // A lease lost to a power cut only makes the event due again: not worth an fsync.
    const rows = (await this.writes.write(() => claim.all({ leasedUntil: now + leaseMs, now, limit }), NOT_DURABLE)) as Array<{
      body: string;
      attempts: number;
    }>;
    return rows.map((r) => ({ event: JSON.parse(r.body) as NormalizedEvent, attempts: r.attempts })).sort((a, b) => (a.event.id < b.event.id ? -1 : 1));
  }

  async completeEnrichment(eventId: string, outcome: EnrichmentOutcome): Promise<void> {
    if ('retryAt' in outcome) {
      if (outcome.event) {
        // A step done (the session, the media archive) is kept: durably, as the archive's file is.
        const progress = this.statement(
          'UPDATE events SET body = ?, outcome = ?, enrich_due_at = ?, enrich_leased = 0 WHERE id = ? AND enrich_due_at IS NOT NULL',
        );
        await this.writes.write(() => progress.run(JSON.stringify(outcome.event), outcome.event!.outcome, outcome.retryAt, eventId));
        return;
      }
      const retry = this.statement('UPDATE events SET enrich_due_at = ?, enrich_leased = 0 WHERE id = ? AND enrich_due_at IS NOT NULL');
      await this.writes.write(() => retry.run(outcome.retryAt, eventId), NOT_DURABLE);
      return;
    }
    const enriched = this.statement(
      'UPDATE events SET body = ?, outcome = ?, enrich_due_at = NULL, enrich_leased = 0 WHERE id = ? AND enrich_due_at IS NOT NULL',
    );
    await this.writes.write(() => enriched.run(JSON.stringify(outcome.event), outcome.event.outcome, eventId));
  }

  async claimDueDeliveries({ destination, limit, claimant, claimTtlMs, now }: ClaimRequest): Promise<Delivery[]> {
    // The due index in order (rowid breaks ties, so no sort), skipping the rows
    // under a live claim: they are in flight, at most the destination's claims.
    const due = this.statement(
      `SELECT rowid, next_attempt_at AS due FROM deliveries INDEXED BY deliveries_due
       WHERE status = 'pending' AND destination = ? AND next_attempt_at <= ?
       ORDER BY next_attempt_at, rowid LIMIT ?`,
    );
    const row = this.statement('SELECT * FROM deliveries WHERE rowid = ?');
    return this.inOneRead(() => {
      const claimed: Delivery[] = [];
      const skip = this.claims.of(destination).length;
      for (const { rowid, due: dueAt } of due.all(destination, now, limit + skip) as Array<{ rowid: number; due: number }>) {
        if (claimed.length === limit) break;
        if (this.claims.isLive(rowid, now)) continue;
        const delivery = toDelivery(row.get(rowid) as DeliveryRow);
        this.claims.add({ rowid, deliveryId: delivery.id, destination, claimant, expiresAt: now + claimTtlMs, dueAt });
        claimed.push(delivery);
      }
      return claimed;
    });
  }

  async completeAttempt(claimant: string, attempt: Attempt, verdict: AttemptVerdict): Promise<boolean> {
    const claim = this.claims.heldBy(attempt.deliveryId, claimant);
    if (!claim) return false;
    const update = this.statement(
      `UPDATE deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = COALESCE(@next, next_attempt_at),
              updated_at = @now, last_error = @error
       WHERE rowid = @rowid AND status = 'pending'`,
    );
    const record = this.statement(
      `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status, reason, error, response_excerpt)
       VALUES (@deliveryId, @attempt, @startedAt, @durationMs, @outcome, @status, @reason, @error, @responseExcerpt)`,
    );
    const recorded = await this.writes.write(() => {
      // Taken over since (it had expired): the other claimant's attempt counts, not this one.
      if (this.claims.heldBy(attempt.deliveryId, claimant) !== claim) return false;
      const changed = update.run({
        rowid: claim.rowid,
        status: verdict.status,
        now: Date.now(),
        next: verdict.status === 'pending' ? verdict.nextAttemptAt : null,
        error: attempt.error === null ? null : `${attempt.reason ?? 'error'}: ${attempt.error}`,
      }).changes;
      if (changed === 0) return false;
      record.run(attempt);
      return true;
    }, NOT_DURABLE);
    // Released once committed: until then the row still reads as pending and due.
    this.claims.drop(claim);
    return recorded;
  }

  async releaseClaims(claimant?: string): Promise<void> {
    this.claims.release(claimant);
  }

  /** One serving process per file: a second one refuses to start (owner-lock.ts). */
  async startServing(): Promise<void> {
    if (this.file === ':memory:') return;
    this.ownerLock ??= SqliteOwnerLock.acquire(this.file);
    this.checkpointer ??= new Checkpointer(
      this.file,
      this.gate,
      () => {
        if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
      },
      this.checkpointEveryMs,
    );
    this.checkpointElsewhere();
  }

  /** This connection leaves WAL checkpoints to the serving process's checkpoint thread, but for a fallback (checkpointer.ts). */
  checkpointElsewhere(): void {
    this.db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  }

  /** Stops the checkpoint thread as a crash would (tests). */
  async killCheckpointer(): Promise<void> {
    await this.checkpointer?.kill();
  }

  /** Its one serving process holds every live claim. */
  async releaseClaimsOfDeadProcesses(): Promise<number> {
    return 0;
  }

  /** One process owns the file: claims left by a previous run of it are void. */
  async recoverClaimsAtStartup(): Promise<void> {
    await this.releaseClaims();
    // Events a previous run held for an enrichment try (a download cut off by kill -9) are due at once, not when the lease ends.
    const due = this.statement('UPDATE events SET enrich_due_at = ?, enrich_leased = 0 WHERE enrich_due_at IS NOT NULL AND enrich_leased = 1');
    await this.writes.write(() => due.run(Date.now()), NOT_DURABLE);
  }

  async pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number> {
    const pick = this.statement(
      `SELECT id FROM events e
       WHERE received_at < ? AND routed_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
         AND NOT EXISTS (SELECT 1 FROM batch_events b WHERE b.event_id = e.id)
       ORDER BY received_at LIMIT ?`,
    );
    const deleteAttempts = this.statement(
      'DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?)))',
    );
    const deleteDeliveries = this.statement('DELETE FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?))');
    const deleteEvents = this.statement('DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))');
    return this.writes.write(() => {
      // received_at is an ISO-8601 UTC string: it sorts and compares as text.
      const ids = JSON.stringify((pick.all(new Date(receivedBeforeMs).toISOString(), batchSize) as Array<{ id: string }>).map((r) => r.id));
      deleteAttempts.run(ids);
      deleteDeliveries.run(ids);
      return deleteEvents.run(ids).changes;
    });
  }

  async pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number> {
    const prune = this.statement(
      `DELETE FROM event_dedupe WHERE (source, dedupe_key) IN
         (SELECT source, dedupe_key FROM event_dedupe WHERE expires_at < ? LIMIT ?)`,
    );
    return this.writes.write(() => prune.run(expiredBeforeMs, batchSize).changes);
  }

  async pruneThreads(usedBeforeMs: number, batchSize: number): Promise<number> {
    const prune = this.statement(
      `DELETE FROM threads WHERE (destination, thread_key) IN
         (SELECT destination, thread_key FROM threads WHERE used_at < ? LIMIT ?)`,
    );
    return this.writes.write(() => prune.run(usedBeforeMs, batchSize).changes);
  }

  async nextDueAt(destinations: readonly string[]): Promise<number | undefined> {
    // A few entries of deliveries_due, never the whole queue (the deliver loop
    // asks often; a scan made draining a large backlog quadratic): the first
    // unclaimed one bounds the answer, and a claimed one falls due when its
    // claim expires.
    const first = this.statement(
      `SELECT rowid, next_attempt_at AS due FROM deliveries INDEXED BY deliveries_due
       WHERE status = 'pending' AND destination = ? ORDER BY next_attempt_at, rowid LIMIT ?`,
    );
    let due = Infinity;
    for (const destination of new Set(destinations)) {
      const claims = this.claims.of(destination);
      const rows = first.all(destination, claims.length + 1) as Array<{ rowid: number; due: number }>;
      const unclaimed = rows.find((r) => !this.claims.isClaimed(r.rowid))?.due ?? Infinity;
      // A claimed delivery falls due again when its claim expires, or later.
      const claimed = Math.min(...claims.map((claim) => Math.max(claim.dueAt, claim.expiresAt)));
      due = Math.min(due, unclaimed, claimed);
    }
    return due === Infinity ? undefined : due;
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const row = this.statement('SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  async listDeliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    // Only the filter's own terms: "(@eventId IS NULL OR event_id = @eventId)" reads every delivery, because
    // SQLite plans a statement once, for any value, and cannot use the event_id index behind the OR (an event
    // page, and a timeline once per event, took 200 ms a delivery scan at 100,000 deliveries; bench/console-pages.ts).
    const terms = (['eventId', 'status', 'destination', 'rule'] as const)
      .filter((key) => filter[key] !== undefined)
      .map((key) => `${key === 'eventId' ? 'event_id' : key} = @${key}`);
    if (filter.after !== undefined) terms.push('id > @after');
    const rows = this.statement(`SELECT * FROM deliveries WHERE ${terms.length > 0 ? terms.join(' AND ') : '1'} ORDER BY id LIMIT @limit`).all({
      eventId: filter.eventId ?? null,
      status: filter.status ?? null,
      destination: filter.destination ?? null,
      rule: filter.rule ?? null,
      after: filter.after ?? null,
      limit: filter.limit ?? 100,
    }) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  async retryDelivery(id: string, now: number): Promise<boolean> {
    const retry = this.statement(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = @now, updated_at = @now, retried_at = @now
       WHERE id = @id AND status IN ('pending', 'dead') AND message IS NOT NULL`,
    );
    return this.writes.write(() => retry.run({ id, now }).changes === 1);
  }

  async deadLetterRemovedDestinations(destinations: readonly string[], madeBeforeMs: number, now: number): Promise<number> {
    const pick = this.statement(
      `SELECT rowid FROM deliveries WHERE status = 'pending'
         AND destination NOT IN (SELECT value FROM json_each(@destinations)) AND COALESCE(retried_at, created_at) < @before`,
    );
    const kill = this.statement(
      `UPDATE deliveries SET status = 'dead', updated_at = @now, last_error = ${DESTINATION_REMOVED_ERROR}
       WHERE rowid IN (SELECT value FROM json_each(@rowids)) AND status = 'pending'`,
    );
    return this.writes.write(() => {
      const rows = pick.all({ destinations: JSON.stringify(destinations), before: madeBeforeMs }) as Array<{ rowid: number }>;
      const rowids = rows.map((r) => r.rowid).filter((rowid) => !this.claims.isLive(rowid, now));
      return rowids.length === 0 ? 0 : kill.run({ rowids: JSON.stringify(rowids), now }).changes;
    });
  }

  async retryDeadLetters(filter: DeadLetterFilter, now: number): Promise<number> {
    const retry = this.statement(
      `UPDATE deliveries SET status = 'pending', next_attempt_at = @now, updated_at = @now, retried_at = @now
       WHERE status = 'dead' AND message IS NOT NULL AND (@destination IS NULL OR destination = @destination)
         AND (@rule IS NULL OR rule = @rule) AND (@since IS NULL OR updated_at >= @since)`,
    );
    return this.writes.write(
      () =>
        retry.run({
          now,
          destination: filter.destination ?? null,
          rule: filter.rule ?? null,
          since: filter.sinceMs ?? null,
        }).changes,
    );
  }

  async addDeliveries(additions: AddedDeliveries[], now: number): Promise<void> {
    const insert = this.statement(INSERT_NEW_DELIVERY);
    const replace = this.statement('UPDATE events SET body = ?, outcome = ? WHERE id = ?');
    const routed = this.statement('SELECT 1 FROM events WHERE id = ? AND routed_at IS NOT NULL');
    return this.writes.write(() => {
      for (const { eventId, deliveries, event, batched = [] } of additions) {
        if (event) replace.run(JSON.stringify(event), event.outcome, eventId);
        for (const d of deliveries) {
          insert.run(newDeliveryParams(eventId, d, now));
        }
        // An event not routed yet joins its batches when it is.
        if (batched.length > 0 && routed.get(eventId) !== undefined) {
          for (const entry of batched) addToBatch((sql) => this.statement(sql), eventId, entry);
        }
      }
    });
  }

  async queueSnapshot(now: number): Promise<QueueSnapshot> {
    const pending = this.statement(
      `SELECT destination, COUNT(*) AS pending, MIN(CASE WHEN next_attempt_at <= ? THEN next_attempt_at END) AS oldest
       FROM deliveries WHERE status = 'pending' GROUP BY destination`,
    ).all(now) as Array<{ destination: string; pending: number; oldest: number | null }>;
    const dead = this.statement(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'dead'`).get() as { n: number };
    return {
      byDestination: Object.fromEntries(pending.map((r) => [r.destination, { pending: r.pending, oldestDueAt: r.oldest }])),
      dead: dead.n,
    };
  }

  async recentDeadLetters(sinceMs: number): Promise<Record<string, RecentDeadLetters>> {
    // With MAX(), SQLite takes a bare column (last_error) from the row that has
    // the maximum: https://www.sqlite.org/lang_select.html#bare_columns_in_an_aggregate_query
    const rows = this.statement(
      `SELECT destination, COUNT(*) AS count, MAX(updated_at) AS latest_at, last_error
       FROM deliveries WHERE status = 'dead' AND updated_at >= ? GROUP BY destination`,
    ).all(sinceMs) as Array<{ destination: string; count: number; latest_at: number; last_error: string | null }>;
    return Object.fromEntries(rows.map((r) => [r.destination, { count: r.count, latestAt: r.latest_at, latestError: r.last_error }]));
  }

  async recentAttempts(sinceMs: number): Promise<Record<string, RecentAttempts>> {
    // Only the attempts since then, through attempts_started; each one's delivery by its key.
    const rows = this.statement(
      `SELECT d.destination, SUM(a.outcome = 'delivered') AS delivered, SUM(a.outcome <> 'delivered') AS failed
       FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE a.started_at >= ? GROUP BY d.destination`,
    ).all(sinceMs) as Array<{ destination: string; delivered: number; failed: number }>;
    return Object.fromEntries(rows.map((r) => [r.destination, { delivered: r.delivered, failed: r.failed }]));
  }

  async listAttempts(deliveryId: string): Promise<Attempt[]> {
    const rows = this.statement('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY attempt').all(deliveryId) as AttemptRow[];
    return rows.map(toAttempt);
  }

  async exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]> {
    return exportEventRecords(this.db, after, limit);
  }

  async importEvents(records: EventRecord[]): Promise<number> {
    return this.writes.write(() => importEventRecords(this.db, records));
  }

  /**
   * One upsert (core/threads.ts): the owner is replaced only while no parent
   * is recorded and its delivery can no longer send (dead, or pruned).
   */
  async claimThread({ destination, key, deliveryId, now }: ThreadClaimRequest): Promise<ThreadRecord> {
    const claim = this.statement(
      `INSERT INTO threads (destination, thread_key, owner_delivery, created_at, used_at)
       VALUES (@destination, @key, @deliveryId, @now, @now)
       ON CONFLICT (destination, thread_key) DO UPDATE SET
         owner_delivery = CASE
           WHEN threads.parent IS NULL AND NOT EXISTS (
             SELECT 1 FROM deliveries d WHERE d.id = threads.owner_delivery AND d.status IN ('pending', 'delivered'))
           THEN excluded.owner_delivery ELSE threads.owner_delivery END,
         used_at = MAX(threads.used_at, excluded.used_at)
       RETURNING owner_delivery, parent, parent_channel`,
    );
    // Not waiting for the disk: a claim lost to a power cut is made again by the next message.
    const row = await this.writes.write(
      () => claim.get({ destination, key, deliveryId, now }) as { owner_delivery: string; parent: string | null; parent_channel: string | null },
      NOT_DURABLE,
    );
    return { owner: row.owner_delivery, parent: row.parent, parentChannel: row.parent_channel };
  }

  async setThreadParent({ destination, key, owner, parent, parentChannel, now }: ThreadParent): Promise<boolean> {
    const update = this.statement(
      `UPDATE threads SET parent = @parent, parent_channel = @parentChannel, used_at = MAX(used_at, @now)
       WHERE destination = @destination AND thread_key = @key AND owner_delivery = @owner AND parent IS NULL`,
    );
    return this.writes.write(() => update.run({ destination, key, owner, parent, parentChannel, now }).changes === 1);
  }

  async reseal(changes: Reseal[]): Promise<number> {
    const written = await this.writes.write(() => reseal(this.db, changes));
    // As after an erasure: the values under the old key leave the -wal file too (best effort beside a serving herald).
    await this.emptyWal();
    return written;
  }

  async eraseSubject(subject: string, { dryRun }: { dryRun: boolean }): Promise<ErasedSubject> {
    const erased = await this.writes.write(() => eraseSubject(this.db, subject, dryRun));
    // The -wal file still holds the pages as they were before: copy the new ones into the database and empty it.
    // Best effort: a reader in the middle of a transaction holds the old pages until the next checkpoint.
    if (!dryRun) await this.emptyWal();
    return erased;
  }

  /**
   * Copies the WAL into the database file and empties it. It holds the write
   * gate meanwhile: the checkpoint thread's checkpoint, or another thread's
   * commit, would otherwise make it give up (SQLITE_BUSY) and leave the old
   * pages in the -wal file.
   */
  private async emptyWal(): Promise<void> {
    while (!this.gate.tryAcquire()) await this.gate.free();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.gate.release();
    }
  }

  async recordAudit({ id, at, actor, action, target, detail }: AuditEntry): Promise<void> {
    const insert = this.statement('INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)');
    return this.writes.write(() => {
      insert.run(id, at, actor, action, target, detail === null ? null : JSON.stringify(detail));
    });
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const rows = this.statement(
      `SELECT * FROM audit_log WHERE (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action)
       AND (@target IS NULL OR target = @target) AND ${keyset(filter.order)} LIMIT @limit`,
    ).all({
      actor: filter.actor ?? null,
      action: filter.action ?? null,
      target: filter.target ?? null,
      after: filter.after ?? null,
      limit: filter.limit ?? 100,
    }) as Array<Omit<AuditEntry, 'detail'> & { detail: string | null }>;
    return rows.map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as Record<string, unknown>) }));
  }

  /** A durable write of one row: a full disk, a read-only file or a lock held elsewhere fails it. */
  async putMedia(media: StoredMedia): Promise<void> {
    const put = this.statement(
      `INSERT OR REPLACE INTO media (id, event_id, subject, sha256, bytes, content_type, created_at)
       VALUES (@id, @eventId, @subject, @sha256, @bytes, @contentType, @createdAt)`,
    );
    await this.writes.write(() => put.run(media));
  }

  async getMedia(id: string): Promise<StoredMedia | undefined> {
    return this.statement(
      `SELECT id, event_id AS eventId, subject, sha256, bytes, content_type AS contentType, created_at AS createdAt FROM media WHERE id = ?`,
    ).get(id) as StoredMedia | undefined;
  }

  async deleteMedia(id: string): Promise<void> {
    const remove = this.statement('DELETE FROM media WHERE id = ?');
    await this.writes.write(() => remove.run(id));
  }

  async orphanedMedia(limit: number): Promise<string[]> {
    const rows = this.statement('SELECT id FROM media m WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = m.event_id) LIMIT ?').all(limit);
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  async putMediaContent(id: string, content: Buffer): Promise<void> {
    const put = this.statement('INSERT OR REPLACE INTO media_content (id, content) VALUES (?, ?)');
    await this.writes.write(() => put.run(id, content));
  }

  async getMediaContent(id: string): Promise<Buffer | undefined> {
    return (this.statement('SELECT content FROM media_content WHERE id = ?').get(id) as { content: Buffer } | undefined)?.content;
  }

  async deleteMediaContent(id: string): Promise<void> {
    const remove = this.statement('DELETE FROM media_content WHERE id = ?');
    await this.writes.write(() => remove.run(id));
  }

  async sharedSecret(name: string, candidate: Buffer): Promise<Buffer> {
    const keep = this.statement('INSERT INTO shared_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING');
    await this.writes.write(() => keep.run(name, candidate));
    return (this.statement('SELECT value FROM shared_secrets WHERE name = ?').get(name) as { value: Buffer }).value;
  }

  async ping(): Promise<void> {
    if (this.file !== ':memory:') {
      const { bavail, bsize } = await statfs(path.dirname(this.file));
      const free = bavail * bsize;
      if (free < MIN_FREE_BYTES) {
        throw new StoreUnavailableError(
          `the disk holding the store has ${Math.floor(free / 1024)} KiB free, under the ${MIN_FREE_BYTES / 1024} KiB readiness asks for`,
        );
      }
    }
    const probe = this.statement('INSERT INTO store_probe (id, written_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at');
    await this.writes.write(() => probe.run(Date.now()));
  }

  /** How many commits carried how many writes: group commit at work. */
  commitStats(): { commits: number; writes: number; durableCommits: number } {
    return { ...this.writes.stats };
  }

  async close(): Promise<void> {
    await this.writes.close();
    await this.checkpointer?.stop();
    this.db.close();
    this.ownerLock?.release();
  }

  /** Prepared statements are cached by better-sqlite3's callers, not by it: keep one per SQL text. */
  private readonly statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      try {
        stmt = this.db.prepare(sql);
      } catch (error) {
        // A closed database (shutdown) or an unreadable file: the caller gets a 503, not a crash.
        throw new StoreUnavailableError(error);
      }
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}
