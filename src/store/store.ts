/**
 * The Store: where each stage hands work to the next, durably. Ingest writes
 * events here and replies 2xx only once the write has committed. Every
 * implementation (sqlite/, postgres/) passes the same contract tests
 * (test/store/contract.ts).
 */
import type { DeliveryFailureReason } from '../core/errors.js';
import type { NormalizedEvent } from '../core/event.js';
import type { RenderedMessage } from '../core/message.js';

/** An event ready to be stored, with the key that makes a provider's retry a duplicate. */
export interface NewEvent {
  event: NormalizedEvent;
  dedupeKey: string;
  /** Until when (ms since epoch) a request with the same source and key is a duplicate. */
  dedupeUntilMs: number;
}

export type InsertResult =
  | { status: 'stored'; id: string }
  /** `id` is the event that was stored first. */
  | { status: 'duplicate'; id: string };

export interface EventFilter {
  source?: string;
  /** Events received strictly after this event id (ids are time-ordered). */
  after?: string;
  limit?: number;
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

/** The outcome of routing one event, written in the transaction that marks it routed. */
export interface EventRouting {
  eventId: string;
  rulesVersion: string;
  deliveries: NewDelivery[];
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
export type AttemptVerdict =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: number }
  | { status: 'dead' };

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
  deliveries: Array<{ delivery: Delivery; attempts: Attempt[] }>;
}

export interface Store {
  /** Brings the schema up to date; returns the schema version. Safe to run again. */
  migrate(): Promise<number>;
  /**
   * Stores an event unless its dedupe key is already known for its source.
   * Resolves once the write is durable; rejects with StoreUnavailableError when
   * it could not be made (the provider must then retry).
   */
  insertEvent(event: NewEvent): Promise<InsertResult>;
  getEvent(id: string): Promise<NormalizedEvent | undefined>;
  /** Events in the order herald received them. */
  listEvents(filter?: EventFilter): Promise<NormalizedEvent[]>;
  countEvents(): Promise<number>;
  /**
   * Events not yet routed, oldest first. A store shared by several processes
   * reserves the events it returns to this instance for a while, so that the
   * others route other events meanwhile; markRouted stays the guarantee.
   */
  unroutedEvents(limit: number): Promise<NormalizedEvent[]>;
  /**
   * Marks events routed and creates their deliveries, atomically per event: an
   * event already routed (by an earlier run, or by another process) is skipped
   * with its deliveries, so no event is ever routed twice.
   */
  markRouted(routings: EventRouting[]): Promise<void>;
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
   * Deletes up to `batchSize` events received before `receivedBeforeMs` (the
   * retention), with their deliveries and attempts; returns how many events it
   * deleted, so the caller repeats until fewer than `batchSize` come back.
   * Events not yet routed, or with a delivery still pending, are kept.
   */
  pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number>;
  /** Deletes up to `batchSize` dedupe keys that expired before `expiredBeforeMs`; returns how many. */
  pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number>;
  /** Up to `limit` events in id order after `after`, with all the store keeps about them (copying). */
  exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]>;
  /**
   * Writes events exported from another store, in one transaction; whatever
   * already exists (same event, delivery or attempt id) is kept as it is, so
   * a copy can be run again. Returns how many events were new.
   */
  importEvents(records: EventRecord[]): Promise<number>;
  /** Resolves when the store can be read and written; for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
