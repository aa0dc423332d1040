/**
 * What the operations commands (events, dlq, replay, destinations) need,
 * whichever way they reach herald: directly on the store the config names
 * (store-backend.ts) or through a running herald's admin API
 * (api-backend.ts). Both return the same shapes, so a command prints the same
 * table and the same --json either way, and never asks which one it has.
 */
import type { NormalizedEvent } from '../../core/event.js';
import type { EventDetail } from '../../pipeline/operator/event-detail.js';
import type { ReplayPage, ReplayPageRequest } from '../../pipeline/operator/replay.js';
import type { Delivery, EventFilter, Page } from '../../store/store.js';

/** Something the user asked for that could not be done; the message says why and what to do. Printed, exit 1. */
export class OpsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpsError';
  }
}

export interface DeadLetterQuery {
  destination?: string;
  rule?: string;
  after?: string;
  limit: number;
}

export interface DeadLetterRetry {
  destination?: string;
  rule?: string;
  /** Dead since this time (RFC 3339). */
  since?: string;
}

/** A destination's pause, as the serving process holds it. */
export interface DestinationState {
  destination: string;
  paused: boolean;
  pausedDestinations: string[];
}

export interface OpsBackend {
  /** Where the commands work, for messages: "in the store", "at http://...". */
  readonly where: string;
  /** Events with their personal fields masked. */
  listEvents(filter: EventFilter): Promise<Page<NormalizedEvent>>;
  /**
   * The event with its deliveries and attempts; undefined when there is none
   * with this id. Personal fields are masked unless `pii` is "include", which
   * is written to the audit log first, in the name of the user (actor.ts).
   */
  eventDetail(id: string, pii?: 'redact' | 'include'): Promise<EventDetail | undefined>;
  listDeadLetters(query: DeadLetterQuery): Promise<Page<Delivery>>;
  /** Makes every matching dead letter pending and due now; returns how many. */
  retryDeadLetters(retry: DeadLetterRetry): Promise<number>;
  /** Makes one delivery pending and due now; an OpsError when it is unknown or cannot be sent again. */
  retryDelivery(id: string): Promise<void>;
  /** Replays one page of a time range (see pipeline/operator/replay.ts). */
  replayPage(request: ReplayPageRequest): Promise<ReplayPage>;
  /** Pauses or resumes a destination in the serving process. */
  setPaused(destination: string, paused: boolean): Promise<DestinationState>;
  close(): Promise<void>;
}
