/**
 * The shared store: PostgreSQL, for several herald processes (on several
 * machines) working one queue. Each queue operation is one statement in its
 * own file under queries/; claims use `FOR UPDATE SKIP LOCKED`, so each event
 * is routed once and each delivery is sent by one process at a time, and a
 * crashed process's claims are taken over within seconds (liveness-lock.ts).
 *
 * `store: postgres://user@host/db?schema=NAME` puts herald's tables in schema
 * NAME (created by migrate() when missing); without it, the role's default.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { NormalizedEvent } from '../../core/event.js';
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
  NewEvent,
  QueueSnapshot,
  RecentAttempts,
  RecentDeadLetters,
  Reseal,
  RoutingError,
  Store,
  StoredMedia,
} from '../store.js';
import { addDeliveries } from './queries/add-deliveries.js';
import { claimBatches, completeBatch, nextBatchDueAt, scheduleBatch } from './queries/batches.js';
import { listAudit, recordAudit } from './queries/audit-log.js';
import { deadLetterRemovedDestinations } from './queries/dead-letter-removed-destinations.js';
import { queueSnapshot } from './queries/queue-snapshot.js';
import { recentAttempts } from './queries/recent-attempts.js';
import { recentDeadLetters } from './queries/recent-dead-letters.js';
import { retryDeadLetters, retryDelivery } from './queries/retry-deliveries.js';
import { StoreUnavailableError } from '../../core/errors.js';
import { createPool, Db, parsePostgresUrl, rowMayCause, type PoolOptions, type PostgresTarget } from './connection.js';
import { LivenessLock } from './liveness-lock.js';
import { releaseDeadClaims } from './queries/release-dead-claims.js';
import { migratePostgres, postgresSchemaVersion } from './migrations.js';
import { claimDeliveries } from './queries/claim-deliveries.js';
import { claimUnroutedEvents } from './queries/claim-unrouted-events.js';
import { completeAttempt } from './queries/complete-attempt.js';
import { claimEventsToEnrich, completeEnrichment } from './queries/enrichment.js';
import { exportEventRecords, importEventRecords } from './queries/event-records.js';
import { eraseSubject } from './queries/erase-subject.js';
import { insertEvents } from './queries/insert-events.js';
import { keyset } from './queries/keyset.js';
import { markRouted } from './queries/mark-routed.js';
import * as media from './queries/media.js';
import { nextDueAt } from './queries/next-due-at.js';
import { pruneDedupeKeys, pruneEvents } from './queries/prune.js';
import { reseal } from './queries/reseal.js';
import { toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from '../rows.js';
import { claimThread, pruneThreads, setThreadParent } from './queries/threads.js';
import type { ThreadClaimRequest, ThreadParent, ThreadRecord } from '../../core/threads.js';
import { WriteBatcher } from './write-batcher.js';

/** The filter fields of EventFilter, as parameters $1 to $9 (eventFilterParams). */
const EVENT_FILTER = `($1::text IS NULL OR source = $1) AND ($2::text IS NULL OR provider = $2) AND ($3::text IS NULL OR type = $3)
  AND ($4::text IS NULL OR outcome = $4) AND ($5::text IS NULL OR subject = $5)
  AND ($6::timestamptz IS NULL OR received_at >= $6) AND ($7::timestamptz IS NULL OR received_at < $7)
  AND ($8::text IS NULL OR category = $8)
  AND ($9::text IS NULL OR EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id AND d.status = $9))`;

function eventFilterParams(filter: EventFilter): Array<string | null> {
  return [
    filter.source ?? null,
    filter.provider ?? null,
    filter.type ?? null,
    filter.outcome ?? null,
    filter.subject ?? null,
    filter.since ?? null,
    filter.until ?? null,
    filter.category ?? null,
    filter.delivery ?? null,
  ];
}

export interface PostgresStoreOptions extends PoolOptions {
  /**
   * How long events handed out by unroutedEvents() stay reserved to this
   * instance (default 30 s). Routing a batch takes milliseconds; the claim
   * only matters when a process dies mid-way.
   */
  routeClaimTtlMs?: number;
}

export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  private readonly db: Db;
  private readonly schema: string | undefined;
  private readonly inserts: WriteBatcher<NewEvent, InsertResult>;
  /** This instance's name on its routing claims (the process's claimant once it serves). */
  private routeClaimant = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly target: PostgresTarget;
  /** Held while this process serves: the others know by it that its claims are live. */
  private liveness: LivenessLock | undefined;
  private readonly routeClaimTtlMs: number;
  private closed = false;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const target = (this.target = parsePostgresUrl(url));
    this.schema = target.schema;
    this.pool = createPool(target, options);
    this.db = new Db(this.pool);
    this.routeClaimTtlMs = options.routeClaimTtlMs ?? 30_000;
    this.inserts = new WriteBatcher((batch) => insertEvents(this.db, batch, Date.now()), rowMayCause);
  }

  migrate(): Promise<number> {
    return migratePostgres(this.pool, this.schema);
  }

  schemaVersion(): Promise<{ applied: number; latest: number }> {
    return postgresSchemaVersion(this.pool);
  }

  /** Concurrent inserts of one event-loop turn share one statement (write-batcher.ts); one that fails fails alone. */
  insertEvent(event: NewEvent): Promise<InsertResult> {
    return this.inserts.add(event);
  }

  async getEvent(id: string): Promise<NormalizedEvent | undefined> {
    const [row] = await this.db.rows<{ body: NormalizedEvent }>('SELECT body FROM events WHERE id = $1', [id]);
    return row?.body;
  }

  async routedEventIds(ids: readonly string[]): Promise<Set<string>> {
    const rows = await this.db.rows<{ id: string }>('SELECT id FROM events WHERE id = ANY($1::text[]) AND routed_at IS NOT NULL', [[...ids]]);
    return new Set(rows.map((r) => r.id));
  }

  async routingErrors(eventId: string): Promise<RoutingError[]> {
    const [row] = await this.db.rows<{ routing_errors: RoutingError[] | null }>('SELECT routing_errors FROM events WHERE id = $1', [eventId]);
    return row?.routing_errors ?? [];
  }

  async listEvents(filter: EventFilter = {}): Promise<NormalizedEvent[]> {
    const rows = await this.db.rows<{ body: NormalizedEvent }>(`SELECT body FROM events WHERE ${EVENT_FILTER} AND ${keyset(filter.order, '$10')} LIMIT $11`, [
      ...eventFilterParams(filter),
      filter.after ?? null,
      filter.limit ?? 100,
    ]);
    return rows.map((r) => r.body);
  }

  async countEvents(filter: EventFilter = {}): Promise<number> {
    return (await this.db.rows<{ n: number }>(`SELECT count(*) AS n FROM events WHERE ${EVENT_FILTER}`, eventFilterParams(filter)))[0]!.n;
  }

  async startServing(claimant: string): Promise<void> {
    this.routeClaimant = claimant;
    this.liveness = new LivenessLock(this.target, claimant);
    await this.liveness.take();
  }

  releaseClaimsOfDeadProcesses(): Promise<number> {
    return releaseDeadClaims(this.db);
  }

  /** A serving process that lost its liveness lock claims nothing until it has it again: the others may take its claims over. */
  private checkLiveness(): void {
    if (this.liveness && !this.liveness.held) {
      throw new StoreUnavailableError(
        new Error("this process's liveness lock is lost (connection to PostgreSQL dropped); claiming resumes once it is taken again"),
      );
    }
  }

  async unroutedEvents(limit: number): Promise<NormalizedEvent[]> {
    this.checkLiveness();
    return claimUnroutedEvents(this.db, { claimant: this.routeClaimant, limit, claimTtlMs: this.routeClaimTtlMs, now: Date.now() });
  }

  markRouted(routings: EventRouting[]): Promise<void> {
    return markRouted(this.db, routings, Date.now());
  }

  claimEventsToEnrich(request: EnrichmentClaimRequest): Promise<EnrichmentClaim[]> {
    return claimEventsToEnrich(this.db, request);
  }

  completeEnrichment(eventId: string, outcome: EnrichmentOutcome): Promise<void> {
    return completeEnrichment(this.db, eventId, outcome);
  }

  async claimDueBatches(request: BatchClaimRequest): Promise<Batch[]> {
    this.checkLiveness();
    return claimBatches(this.db, request);
  }

  completeBatch(claimant: string, completion: BatchCompletion): Promise<boolean> {
    return completeBatch(this.db, claimant, completion, Date.now());
  }

  scheduleBatch(schedule: BatchSchedule): Promise<void> {
    return scheduleBatch(this.db, schedule);
  }

  nextBatchDueAt(): Promise<number | undefined> {
    return nextBatchDueAt(this.db);
  }

  async claimDueDeliveries(request: ClaimRequest): Promise<Delivery[]> {
    this.checkLiveness();
    return claimDeliveries(this.db, request);
  }

  completeAttempt(claimant: string, attempt: Attempt, verdict: AttemptVerdict): Promise<boolean> {
    return completeAttempt(this.db, claimant, attempt, verdict, Date.now());
  }

  async releaseClaims(claimant?: string): Promise<void> {
    // A claim sets claimed_by and claim_expires_at together; the partial index deliveries_claimed finds them.
    await this.db.query(
      `UPDATE deliveries SET claimed_by = NULL, claim_expires_at = NULL
       WHERE status = 'pending' AND claim_expires_at IS NOT NULL AND ($1::text IS NULL OR claimed_by = $1)`,
      [claimant ?? null],
    );
  }

  /** Other processes hold live claims: leave them; a dead process's are released by releaseClaimsOfDeadProcesses. */
  async recoverClaimsAtStartup(): Promise<void> {}

  nextDueAt(destinations: readonly string[]): Promise<number | undefined> {
    return nextDueAt(this.db, destinations);
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const [row] = await this.db.rows<DeliveryRow>('SELECT * FROM deliveries WHERE id = $1', [id]);
    return row && toDelivery(row);
  }

  async listDeliveries(filter: DeliveryFilter = {}): Promise<Delivery[]> {
    const rows = await this.db.rows<DeliveryRow>(
      `SELECT * FROM deliveries
       WHERE ($1::text IS NULL OR event_id = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR destination = $3)
         AND ($4::text IS NULL OR rule = $4) AND ($5::text IS NULL OR id > $5)
       ORDER BY id LIMIT $6`,
      [filter.eventId ?? null, filter.status ?? null, filter.destination ?? null, filter.rule ?? null, filter.after ?? null, filter.limit ?? 100],
    );
    return rows.map(toDelivery);
  }

  retryDelivery(id: string, now: number): Promise<boolean> {
    return retryDelivery(this.db, id, now);
  }

  deadLetterRemovedDestinations(destinations: readonly string[], madeBeforeMs: number, now: number): Promise<number> {
    return deadLetterRemovedDestinations(this.db, destinations, madeBeforeMs, now);
  }

  retryDeadLetters(filter: DeadLetterFilter, now: number): Promise<number> {
    return retryDeadLetters(this.db, filter, now);
  }

  addDeliveries(additions: AddedDeliveries[], now: number): Promise<void> {
    return addDeliveries(this.db, additions, now);
  }

  queueSnapshot(now: number): Promise<QueueSnapshot> {
    return queueSnapshot(this.db, now);
  }

  recentDeadLetters(sinceMs: number): Promise<Record<string, RecentDeadLetters>> {
    return recentDeadLetters(this.db, sinceMs);
  }

  recentAttempts(sinceMs: number): Promise<Record<string, RecentAttempts>> {
    return recentAttempts(this.db, sinceMs);
  }

  async listAttempts(deliveryId: string): Promise<Attempt[]> {
    const rows = await this.db.rows<AttemptRow>('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY attempt', [deliveryId]);
    return rows.map(toAttempt);
  }

  pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number> {
    return pruneEvents(this.db, receivedBeforeMs, batchSize);
  }

  pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number> {
    return pruneDedupeKeys(this.db, expiredBeforeMs, batchSize);
  }

  pruneThreads(usedBeforeMs: number, batchSize: number): Promise<number> {
    return pruneThreads(this.db, usedBeforeMs, batchSize);
  }

  exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]> {
    return exportEventRecords(this.db, after, limit);
  }

  importEvents(records: EventRecord[]): Promise<number> {
    return importEventRecords(this.db, records);
  }

  claimThread(request: ThreadClaimRequest): Promise<ThreadRecord> {
    return claimThread(this.db, request);
  }

  setThreadParent(parent: ThreadParent): Promise<boolean> {
    return setThreadParent(this.db, parent);
  }

  reseal(changes: Reseal[]): Promise<number> {
    return reseal(this.db, changes);
  }

  eraseSubject(subject: string, { dryRun }: { dryRun: boolean }): Promise<ErasedSubject> {
    return eraseSubject(this.db, subject, dryRun);
  }

  recordAudit(entry: AuditEntry): Promise<void> {
    return recordAudit(this.db, entry);
  }

  listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    return listAudit(this.db, filter);
  }

  /** A write of one row: a database that is read-only, out of space or unreachable fails it. */
  putMedia(record: StoredMedia): Promise<void> {
    return media.putMedia(this.db, record);
  }

  getMedia(id: string): Promise<StoredMedia | undefined> {
    return media.getMedia(this.db, id);
  }

  deleteMedia(id: string): Promise<void> {
    return media.deleteMedia(this.db, id);
  }

  orphanedMedia(limit: number): Promise<string[]> {
    return media.orphanedMedia(this.db, limit);
  }

  putMediaContent(id: string, content: Buffer): Promise<void> {
    return media.putMediaContent(this.db, id, content);
  }

  getMediaContent(id: string): Promise<Buffer | undefined> {
    return media.getMediaContent(this.db, id);
  }

  deleteMediaContent(id: string): Promise<void> {
    return media.deleteMediaContent(this.db, id);
  }

  sharedSecret(name: string, candidate: Buffer): Promise<Buffer> {
    return media.sharedSecret(this.db, name, candidate);
  }

  async ping(): Promise<void> {
    await this.db.query('INSERT INTO store_probe (id, written_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at', [
      Date.now(),
    ]);
  }

  /** Writes what is queued, hands this instance's routing claims back to the others, closes the pool and drops the liveness lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.inserts.drain();
    await this.db
      .query('UPDATE events SET route_claimed_by = NULL, route_claim_expires_at = NULL WHERE routed_at IS NULL AND route_claimed_by = $1', [this.routeClaimant])
      .catch(() => {}); // the claims expire anyway
    await this.pool.end();
    await this.liveness?.release();
  }
}
