/**
 * The Store: where each stage hands work to the next, durably. Ingest writes
 * events here and replies 2xx only once the write has committed. Every
 * implementation (sqlite/, and postgres/ later) passes the same contract tests.
 */
import type { NormalizedEvent } from '../core/event.js';

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
  /** Resolves when the store can be read and written; for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
