/**
 * The Store: where each stage hands work to the next, durably. Ingest writes
 * events here and replies 2xx only once the write has committed. Every
 * implementation (sqlite/, postgres/) passes the same contract tests
 * (test/store/contract.ts).
 */
import type { DeliveryFailureReason } from '../core/errors.js';
import type { NormalizedEvent } from '../core/event.js';
import type { RenderedMessage } from '../core/message.js';
import type { BatchSpec } from '../core/rules.js';
import type { ThreadStore } from '../core/threads.js';

/** An event ready to be stored, with the key that makes a provider's retry a duplicate. */
export interface NewEvent {
  event: NormalizedEvent;
  dedupeKey: string;
  /** Until when (ms since epoch) a request with the same source and key is a duplicate. */
  dedupeUntilMs: number;
  /**
   * When set, the event waits for the work before routing (pipeline/stages/enrich.ts:
   * its session, its media archive) before it can be routed: its first try is
   * due at this time (ms since epoch).
   */
  enrichDueAtMs?: number;
  /**
   * The event's routing, asked for once the event is known to be new: a
   * store that can (SQLite) calls it inside the write that stores the event
   * and writes the event routed, with its deliveries and batch entries, in
   * that write. A store that cannot (PostgreSQL: several processes claim
   * events to route) never calls it, and the event waits for the route stage.
   */
  route?: () => EventRouting;
}

/** An event handed to the enrich stage, and how many tries it has had (this one included). */
export interface EnrichmentClaim {
  event: NormalizedEvent;
  attempts: number;
}

export interface EnrichmentClaimRequest {
  limit: number;
  /** The claimed events are due again after this long: a process that died mid-way leaves them to another. */
  leaseMs: number;
  now: number;
}

/**
 * What one enrichment try led to: the enriched event (now routable), or when
 * to try again, with the event as far as it got (a step done is kept).
 */
export type EnrichmentOutcome = { event: NormalizedEvent } | { retryAt: number; event?: NormalizedEvent };

/** An archived media file's record (pipeline/stages/media-archive.ts); its bytes are kept apart (media-files.ts). */
export interface StoredMedia {
  /** herald's id of the file: the id of its event. */
  id: string;
  eventId: string;
  /** The event's subject (FaceSign: the session), for erasure. */
  subject: string | null;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  bytes: number;
  contentType: string;
  /** When it was archived (ms). */
  createdAt: number;
}

export type InsertResult =
  | { status: 'stored'; id: string }
  /** `id` is the event that was stored first. */
  | { status: 'duplicate'; id: string };

export interface EventFilter {
  source?: string;
  provider?: string;
  type?: string;
  category?: string;
  outcome?: string;
  subject?: string;
  /** Only events with at least one delivery in this state. */
  delivery?: DeliveryStatus;
  /** Received at or after this time (RFC 3339). */
  since?: string;
  /** Received before this time (RFC 3339). */
  until?: string;
  /**
   * The cursor: events strictly after this event id in the listing's order
   * (ids are time-ordered, so later received with `asc`, earlier with `desc`).
   */
  after?: string;
  /** At most this many (default 100). */
  limit?: number;
  /** `asc` (the default): oldest first; `desc`: newest first (the console). */
  order?: ListOrder;
}

/** The order of a listing by id, that is by time. */
export type ListOrder = 'asc' | 'desc';

/** One page of a listing, and the cursor (`after`) for the next one, or null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Reads one page through `list` by asking for one item more than `limit`. */
export async function pageOf<T extends { id: string }, F extends { after?: string; limit?: number }>(
  list: (filter: F) => Promise<T[]>,
  filter: F,
): Promise<Page<T>> {
  const limit = filter.limit ?? 100;
  const items = await list({ ...filter, limit: limit + 1 });
  const more = items.length > limit;
  if (more) items.length = limit;
  return { items, nextCursor: more ? items.at(-1)!.id : null };
}

/** Which dead deliveries to retry at once. */
export interface DeadLetterFilter {
  destination?: string;
  rule?: string;
  /** Dead since this time (ms since epoch): last updated at or after it. */
  sinceMs?: number;
}

/** New deliveries for an event already routed (a replay): its earlier deliveries are kept. */
export interface AddedDeliveries {
  eventId: string;
  deliveries: NewDelivery[];
  /**
   * The batches the event joins again (rules with group, digest or throttle),
   * as routing would add it (EventRouting.batched); none when absent.
   */
  batched?: BatchEntry[];
  /**
   * The event as the deliveries were rendered from, when the replay changed it
   * (a session fetched again: pipeline/operator/session-refresh.ts): it
   * replaces the stored one, its outcome too, in the same write.
   */
  event?: NormalizedEvent;
}

/** The queue at one moment, for the metrics (see pipeline/mechanisms/metrics.ts). */
export interface QueueSnapshot {
  /** Pending deliveries, and when the oldest due one fell due (ms; null when none is due yet), by destination. */
  byDestination: Record<string, { pending: number; oldestDueAt: number | null }>;
  /** Dead deliveries. */
  dead: number;
}

/** The deliveries to one destination that went dead since a moment, for the dead-letter alert. */
export interface RecentDeadLetters {
  count: number;
  /** When the latest of them went dead (ms). */
  latestAt: number;
  /** The latest one's error as recorded (scrubbed of secrets by its channel), or null. */
  latestError: string | null;
}

/** The attempts at one destination's deliveries that started since a moment, by how they ended. */
export interface RecentAttempts {
  delivered: number;
  /** Attempts that did not deliver: to be retried, gone dead, or a failed probe of an open circuit breaker. */
  failed: number;
}

/**
 * One entry of the audit log: who did what to what, and when. Today the admin
 * API and the CLI record reading an event's personal fields; any operator
 * action may add entries. Kept beyond the retention: pruning leaves them.
 */
export interface AuditEntry {
  /** UUIDv7: entries sort by the time they were written. */
  id: string;
  /** When (ms since epoch). */
  at: number;
  /** Who, as far as herald can tell (see pipeline/operator/personal-data.ts). */
  actor: string;
  /** What was done, e.g. `event.pii.read`. */
  action: string;
  /** What it was done to, e.g. an event id. */
  target: string;
  /** More about it (where the request came from, ...), or null. */
  detail: Record<string, unknown> | null;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  /** Entries strictly after this entry id in the listing's order: the cursor. */
  after?: string;
  limit?: number;
  /** `asc` (the default): oldest first; `desc`: newest first. */
  order?: ListOrder;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

/** A delivery created when an event is routed: one per fired rule and notify entry. */
export interface NewDelivery {
  id: string;
  rule: string;
  destination: string;
  template: string;
  /** Null when the template failed to render: the delivery is then created dead. */
  message: RenderedMessage | null;
  status: 'pending' | 'dead';
  /** Why it is dead from the start (a render failure). */
  error?: string;
}

/**
 * Why an event was routed without a rule's say: the rule's condition threw on
 * it (it counted as not matching), or routing the event failed as a whole (it
 * was marked routed with no deliveries). Kept with the event, for operators.
 */
export interface RoutingError {
  /** The rule whose condition threw; null when the event as a whole could not be routed. */
  rule: string | null;
  /** What was thrown, e.g. `TypeError: Cannot convert object to primitive value`. */
  error: string;
}

/**
 * An event added to a batch as it is routed: a rule with group, digest or
 * throttle sends no message per event (routing/batching.ts). One batch per
 * rule, destination, template and key, kept between its messages (it holds
 * when the last went out and the throttle's counts).
 */
export interface BatchEntry {
  rule: string;
  destination: string;
  template: string;
  /** The key's values as a JSON array (routing/batching.ts BatchKey.id). */
  key: string;
  keyLabel: string;
  keyValues: Record<string, unknown>;
  spec: BatchSpec;
  /**
   * When the batch is due if this event is its first pending one; a group
   * whose last message went out less than `intervalMs` ago is due at that
   * message plus `intervalMs` instead.
   */
  firstDueAt: number;
  intervalMs: number;
  /** The routing's clock. */
  now: number;
}

/** A batch, as claimed to be sent. */
export interface Batch {
  id: string;
  rule: string;
  destination: string;
  template: string;
  key: string;
  keyLabel: string;
  keyValues: Record<string, unknown>;
  spec: BatchSpec;
  /** When its next message is due (ms), or null when nothing is to be sent. */
  dueAt: number | null;
  /** When its last message went out (ms), or null. */
  lastSentAt: number | null;
  /** The throttle's window: when it started (ms, or null), messages sent in it, events held back since the last message. */
  windowStart: number | null;
  windowSent: number;
  suppressed: number;
  /** The ids of its pending events, oldest first. */
  eventIds: string[];
}

export interface BatchClaimRequest {
  limit: number;
  /** Who claims: only the claimant may complete the batch. */
  claimant: string;
  /** After this long an unfinished claim (a crashed process) may be taken over. */
  claimTtlMs: number;
  now: number;
}

/** What sending a batch led to, written in one transaction. */
export interface BatchCompletion {
  batchId: string;
  /** The pending events it took out (sent, listed or counted). */
  consumed: string[];
  /** The messages it made, each belonging to an event (the newest it is about). */
  deliveries: Array<NewDelivery & { eventId: string }>;
  /** An event to store, routed, for a message about no event (an empty digest). */
  event?: NormalizedEvent;
  /** When a message went out (ms), or null when none did. */
  sentAt: number | null;
  /** When it is due next if events arrived meanwhile, and if none did (null: not until one does). */
  dueIfPending: number;
  dueIfEmpty: number | null;
  windowStart: number | null;
  windowSent: number;
  suppressed: number;
}

/** A batch that is due whether or not events arrive (a digest with sendEmpty). */
export interface BatchSchedule {
  rule: string;
  destination: string;
  template: string;
  key: string;
  keyLabel: string;
  keyValues: Record<string, unknown>;
  spec: BatchSpec;
  /** Its due time, unless it has one already. */
  dueAt: number;
}

/** The outcome of routing one event, written in the transaction that marks it routed. */
export interface EventRouting {
  eventId: string;
  rulesVersion: string;
  deliveries: NewDelivery[];
  /** The batches the event joins (rules with group, digest or throttle); none when absent. */
  batched?: BatchEntry[];
  /** What went wrong while routing it; none when absent. */
  errors?: RoutingError[];
}

export interface Delivery {
  id: string;
  eventId: string;
  rule: string;
  destination: string;
  template: string;
  message: RenderedMessage | null;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  createdAt: number;
  updatedAt: number;
  lastError: string | null;
  /**
   * When an operator last retried it (ms), or null. Its maximum age and retry
   * schedule count from then: a retry starts a fresh window.
   */
  retriedAt: number | null;
}

/** One try at sending a delivery, as recorded. */
export interface Attempt {
  deliveryId: string;
  attempt: number;
  startedAt: number;
  durationMs: number;
  /** `probe`: a failed probe of an open circuit breaker, which spends none of the retry schedule. */
  outcome: 'delivered' | 'retry' | 'dead' | 'probe';
  /** HTTP status or SMTP reply code, when there was one. */
  status: number | null;
  reason: DeliveryFailureReason | null;
  error: string | null;
  responseExcerpt: string | null;
}

/** What happens to a delivery after an attempt. */
export type AttemptVerdict = { status: 'delivered' } | { status: 'pending'; nextAttemptAt: number } | { status: 'dead' };

export interface ClaimRequest {
  destination: string;
  limit: number;
  /** Who claims: only the claimant may complete the attempt. */
  claimant: string;
  /** After this long an unfinished claim (a crashed process) may be taken over. */
  claimTtlMs: number;
  now: number;
}

export interface DeliveryFilter {
  eventId?: string;
  status?: DeliveryStatus;
  destination?: string;
  rule?: string;
  /** Deliveries strictly after this delivery id (ids are time-ordered): the cursor. */
  after?: string;
  limit?: number;
}

/**
 * Everything a store keeps about one event, for copying it to another store
 * (`herald store copy`). Claims are not part of it: they belong to processes.
 */
export interface EventRecord {
  event: NormalizedEvent;
  dedupeKey: string;
  /** When the event's dedupe key is forgotten (ms); null when the key names another event now, or is gone. */
  dedupeUntilMs: number | null;
  /** When the event was routed (RFC 3339), or null while it waits to be. */
  routedAt: string | null;
  rulesVersion: string | null;
  /** What went wrong while routing it (empty when nothing did). */
  routingErrors: RoutingError[];
  /** When the event's next enrichment try is due (ms), while it waits for one; absent or null otherwise. */
  enrichDueAtMs?: number | null;
  deliveries: Array<{ delivery: Delivery; attempts: Attempt[] }>;
}

/**
 * One stored value written again, sealed under another data key (`herald keys
 * rotate`, pipeline/rotate-data-key.ts). A compare-and-swap: it is written
 * only if the row still holds `from` exactly, so a row that a serving herald
 * changed meanwhile is left as that herald wrote it.
 */
export type Reseal =
  | { kind: 'event'; id: string; from: NormalizedEvent; to: NormalizedEvent }
  | { kind: 'message'; deliveryId: string; from: RenderedMessage; to: RenderedMessage }
  | { kind: 'excerpt'; deliveryId: string; attempt: number; from: string; to: string };

/** What erasing a subject removed (or, in a dry run, would remove), by kind. */
export interface ErasedSubject {
  events: number;
  deliveries: number;
  attempts: number;
  /** Dedupe keys of the subject's events: a provider's retry of one of them is a new event afterwards. */
  dedupeKeys: number;
  /**
   * Archived media files of the subject. The store deletes its events; their
   * files (bytes, then records) are deleted after, as any whose event is gone
   * (pipeline/erase-subject.ts, media-archive.ts deleteOrphanedMedia).
   */
  media: number;
}

export interface Store extends ThreadStore {
  /** Brings the schema up to date; returns the schema version. Safe to run again. */
  migrate(): Promise<number>;
  /** The schema version the store has (0: none, never migrated) and the one this herald needs; changes nothing. */
  schemaVersion(): Promise<{ applied: number; latest: number }>;
  /**
   * Stores an event unless its dedupe key is already known for its source.
   * Resolves once the write is durable; rejects with StoreUnavailableError when
   * it could not be made (the provider must then retry).
   */
  insertEvent(event: NewEvent): Promise<InsertResult>;
  getEvent(id: string): Promise<NormalizedEvent | undefined>;
  /** Which of these events are routed already (a replay leaves the others to routing, which sends them anyway). */
  routedEventIds(ids: readonly string[]): Promise<Set<string>>;
  /** What went wrong while routing the event (markRouted's `errors`); empty for an unknown event or when nothing did. */
  routingErrors(eventId: string): Promise<RoutingError[]>;
  /** Events matching every field of the filter, in the order herald received them (or the reverse, `order: 'desc'`). */
  listEvents(filter?: EventFilter): Promise<NormalizedEvent[]>;
  /** How many events match the filter (its `after` and `limit` are ignored). */
  countEvents(filter?: EventFilter): Promise<number>;
  /**
   * Events not yet routed, oldest first. A store shared by several processes
   * reserves the events it returns to this instance for a while, so that the
   * others route other events meanwhile; markRouted stays the guarantee.
   */
  unroutedEvents(limit: number): Promise<NormalizedEvent[]>;
  /**
   * Marks events routed and creates their deliveries, atomically per event: an
   * event already routed (by an earlier run, or by another process) is skipped
   * with its deliveries, so no event is ever routed twice. The routing's
   * `errors` are kept with the event.
   */
  markRouted(routings: EventRouting[]): Promise<void>;
  /**
   * Events waiting for enrichment whose try is due, oldest due first; each is
   * leased (due again after `leaseMs`) and its attempts counted. Events waiting
   * for enrichment are never handed out by unroutedEvents.
   */
  claimEventsToEnrich(request: EnrichmentClaimRequest): Promise<EnrichmentClaim[]>;
  /**
   * Records an enrichment try: the enriched event replaces the stored one (its
   * outcome too) and becomes routable, or the next try is due at `retryAt`.
   * Ignored for an event no longer waiting for enrichment.
   */
  completeEnrichment(eventId: string, outcome: EnrichmentOutcome): Promise<void>;
  /** Claims up to `limit` due, unclaimed pending deliveries of one destination, oldest due first. */
  claimDueDeliveries(request: ClaimRequest): Promise<Delivery[]>;
  /**
   * Records an attempt and what follows it, and releases the claim. Ignored
   * (returns false) when the claim is no longer the claimant's.
   */
  completeAttempt(claimant: string, attempt: Attempt, verdict: AttemptVerdict): Promise<boolean>;
  /** Gives up the claimant's claims (shutdown), or every claim when no claimant is named. */
  releaseClaims(claimant?: string): Promise<void>;
  /**
   * Makes this process one of the store's serving processes (`herald serve`;
   * the CLI's commands never call it), until close(). The SQLite store admits
   * one: it takes the file's owner lock, or throws StoreOwnedError naming the
   * process that holds it. The PostgreSQL store admits many: it holds a lock
   * that names `claimant` for as long as this process lives, by which the
   * others tell its claims from a dead process's.
   */
  startServing(claimant: string): Promise<void>;
  /**
   * Gives the claims (deliveries and reserved events) of processes that are
   * gone (killed, crashed) back to the queue at once, rather than when they
   * expire; never a live process's. Returns how many it released.
   */
  releaseClaimsOfDeadProcesses(): Promise<number>;
  /**
   * Called once when herald starts. A store owned by one process (SQLite)
   * releases every claim, since they can only be a previous run's; a shared
   * store (PostgreSQL) keeps them, since other processes hold live claims that
   * expire by themselves if their owner died.
   */
  recoverClaimsAtStartup(): Promise<void>;
  /**
   * When the earliest pending, unclaimed delivery of these destinations falls
   * due (ms; a claimed one falls due when its claim expires), or undefined.
   */
  nextDueAt(destinations: readonly string[]): Promise<number | undefined>;
  getDelivery(id: string): Promise<Delivery | undefined>;
  listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]>;
  listAttempts(deliveryId: string): Promise<Attempt[]>;
  /**
   * Makes a dead or pending delivery pending and due now, keeping its attempts
   * (a claimed one stays with its claimant), and records `now` as its
   * `retriedAt`: its maximum age and retry schedule start afresh. Returns false for an unknown or
   * delivered delivery, or one without a message (its template failed: replay the event).
   */
  retryDelivery(id: string, now: number): Promise<boolean>;
  /**
   * Makes dead letters of the pending deliveries to destinations not in
   * `destinations` (removed from the config), with the reason
   * `destination-removed`; returns how many. Only deliveries made (or last
   * retried) before `madeBeforeMs` are touched: a process never dead-letters
   * what another process, with a newer config, made since. A delivery under a
   * live claim is left to its claimant.
   */
  deadLetterRemovedDestinations(destinations: readonly string[], madeBeforeMs: number, now: number): Promise<number>;
  /** retryDelivery for every dead delivery matching the filter; returns how many. */
  retryDeadLetters(filter: DeadLetterFilter, now: number): Promise<number>;
  /**
   * Inserts new deliveries for events already routed (a replay), and adds the
   * events to their batches as markRouted does (same due-time logic), in one
   * transaction; earlier deliveries are kept. An event still pending in a
   * batch is not added to it again (it goes out once, with the batch's next
   * message), and batch entries of an event not yet routed are left out
   * (routing will batch it).
   */
  addDeliveries(additions: AddedDeliveries[], now: number): Promise<void>;
  /** Pending deliveries by destination with the oldest due, and the dead count: one query each. */
  queueSnapshot(now: number): Promise<QueueSnapshot>;
  /**
   * The deliveries that went dead at or after `sinceMs` (last updated then:
   * a retried dead letter that dies again counts again), by destination.
   * Reads only those, through the index of dead letters by time.
   */
  recentDeadLetters(sinceMs: number): Promise<Record<string, RecentDeadLetters>>;
  /**
   * The attempts that started at or after `sinceMs`, by destination: the
   * delivery rate of every process on the store. Reads only those, through
   * the index of attempts by start time.
   */
  recentAttempts(sinceMs: number): Promise<Record<string, RecentAttempts>>;
  /**
   * Deletes up to `batchSize` events received before `receivedBeforeMs` (the
   * retention), with their deliveries and attempts; returns how many events it
   * deleted, so the caller repeats until fewer than `batchSize` come back.
   * Events not yet routed, or with a delivery still pending, are kept.
   */
  pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number>;
  /** Deletes up to `batchSize` dedupe keys that expired before `expiredBeforeMs`; returns how many. */
  pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number>;
  /** Deletes up to `batchSize` threads (core/threads.ts) last used before `usedBeforeMs`; returns how many. */
  pruneThreads(usedBeforeMs: number, batchSize: number): Promise<number>;
  /** Up to `limit` events in id order after `after`, with all the store keeps about them (copying). */
  exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]>;
  /**
   * Writes events exported from another store, in one transaction; whatever
   * already exists (same event, delivery or attempt id) is kept as it is, so
   * a copy can be run again. Returns how many events were new.
   */
  importEvents(records: EventRecord[]): Promise<number>;
  /** Applies re-sealed values (see Reseal), in one transaction; returns how many rows were written. */
  reseal(changes: Reseal[]): Promise<number>;
  /**
   * Deletes every event whose subject is `subject`, with its deliveries,
   * attempts and dedupe keys (their enrichment is stored in the event), in one
   * transaction; returns the counts, with the subject's media files (left for
   * the caller to delete: see ErasedSubject.media). With `dryRun` it only counts.
   */
  eraseSubject(subject: string, options: { dryRun: boolean }): Promise<ErasedSubject>;
  /**
   * Claims up to `limit` batches that are due, earliest first, with their
   * pending events: each is sent by one process (PostgreSQL: SKIP LOCKED).
   */
  claimDueBatches(request: BatchClaimRequest): Promise<Batch[]>;
  /**
   * Records what sending a claimed batch made, in one transaction: its
   * deliveries, the events it took out, its next due time and throttle
   * counts; releases the claim. Ignored (false) when the claim is no longer
   * the claimant's (it expired and another process took the batch over).
   */
  completeBatch(claimant: string, completion: BatchCompletion): Promise<boolean>;
  /** Gives a batch a due time unless it has one (creating it when missing): digests that send when empty. */
  scheduleBatch(schedule: BatchSchedule): Promise<void>;
  /** When the earliest batch is due (ms; a claimed one when its claim expires), or undefined. */
  nextBatchDueAt(): Promise<number | undefined>;
  /** Appends an entry to the audit log; resolves once it is durable. */
  recordAudit(entry: AuditEntry): Promise<void>;
  /** Audit entries matching every field of the filter, oldest first unless `order: 'desc'` (default limit 100). */
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;
  /** Records an archived media file (replacing a record of the same id); resolves once durable. */
  putMedia(media: StoredMedia): Promise<void>;
  getMedia(id: string): Promise<StoredMedia | undefined>;
  /** Deletes a media record (its bytes are media-files.ts's: delete them first). */
  deleteMedia(id: string): Promise<void>;
  /** Up to `limit` ids of media whose event is gone (retention, erasure): what is left to delete. */
  orphanedMedia(limit: number): Promise<string[]>;
  /** The bytes of a media file kept in the database (`media.store: store`), replacing any of the same id. */
  putMediaContent(id: string, content: Buffer): Promise<void>;
  getMediaContent(id: string): Promise<Buffer | undefined>;
  deleteMediaContent(id: string): Promise<void>;
  /**
   * A secret shared by every process on this store, by name: the one stored,
   * or `candidate` when none is yet (stored then). Media links are signed with
   * a key derived from it (pipeline/mechanisms/media-links.ts).
   */
  sharedSecret(name: string, candidate: Buffer): Promise<Buffer>;
  /** Writes one row, and resolves once it is durable: the store can be read and written (for /readyz). SQLite also wants some free space (MIN_FREE_BYTES). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
