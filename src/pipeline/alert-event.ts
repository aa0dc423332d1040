/**
 * herald's operational alerts as normalized events: source and provider
 * `herald`, category `operations`, the destination the alert is about as
 * `subject`. Stored and routed like any event, so rules send them anywhere
 * (`match: { source: herald }`), with retries, dead letters and replay.
 *
 * `data` holds names, counts, times and error messages as attempts record
 * them (channels scrub URLs, tokens and passwords from those); never a
 * response body, a URL or anything from an event. samples/herald/ holds one
 * of each type, which `herald check` renders templates against: a test keeps
 * them in the shape built here.
 */
import type { DeliveryFailureReason } from '../core/errors.js';
import { HERALD, type NormalizedEvent } from '../core/event.js';
import { newEventId } from '../core/ids.js';
import { ALERT_TYPES, type AlertType } from '../providers/herald.js';
import { duration } from '../render/filters.js';
import type { RecentDeadLetters } from '../store/store.js';

/** Longest error message an alert quotes. */
const ERROR_CHARS = 300;

/** An alert about one destination, ready to be raised. */
export interface Alert {
  type: AlertType;
  /** The event's `data`: the destination it is about and a `summary` (one line for people), then the type's own fields. */
  data: { destination: string; summary: string; [field: string]: unknown };
}

/** What the deliver stage knows when a destination's breaker opens. */
export interface BreakerOpening {
  /** Consecutive failures that opened it. */
  failures: number;
  reason: DeliveryFailureReason;
  /** HTTP status or SMTP reply code of the last failure, when there was one. */
  status: number | null;
  /** The last failure's message, as recorded with its attempt. */
  error: string;
  nextProbeInMs: number;
}

export function breakerOpenedAlert(destination: string, opening: BreakerOpening): Alert {
  return {
    type: ALERT_TYPES.breakerOpened,
    data: {
      destination,
      summary: `Deliveries to ${destination} are paused after ${opening.failures} failed attempts in a row (${opening.reason}); ` +
        'herald probes it and resumes by itself once it answers.',
      failures: opening.failures,
      reason: opening.reason,
      status: opening.status,
      error: clip(opening.error),
      nextProbeInMs: opening.nextProbeInMs,
    },
  };
}

export function deadLettersAlert(destination: string, dead: RecentDeadLetters, sinceMs: number, nowMs: number): Alert {
  return {
    type: ALERT_TYPES.deadLetters,
    data: {
      destination,
      summary: `${deliveries(dead.count)} to ${destination} went to the dead letters in the last ${duration(nowMs - sinceMs)}.`,
      count: dead.count,
      since: new Date(sinceMs).toISOString(),
      latestAt: new Date(dead.latestAt).toISOString(),
      latestError: dead.latestError === null ? null : clip(dead.latestError),
    },
  };
}

export function queueStaleAlert(destination: string, queue: { pending: number; oldestDueAt: number }, thresholdMs: number, nowMs: number): Alert {
  const waitedMs = nowMs - queue.oldestDueAt;
  return {
    type: ALERT_TYPES.queueStale,
    data: {
      destination,
      summary: `${deliveries(queue.pending)} to ${destination} waiting; the oldest has been due for ${duration(waitedMs)} ` +
        `(alerts.queueAge: ${duration(thresholdMs)}).`,
      pending: queue.pending,
      oldestDueAt: new Date(queue.oldestDueAt).toISOString(),
      waitedMs,
      thresholdMs,
    },
  };
}

/** The normalized event of an alert (or of a shipped sample's `data`). */
export function alertEvent(type: AlertType, data: Alert['data'], nowMs: number): NormalizedEvent {
  const at = new Date(nowMs).toISOString();
  return {
    specversion: '1.0',
    id: newEventId(),
    source: HERALD,
    provider: HERALD,
    type,
    category: 'operations',
    outcome: null,
    subject: data.destination,
    time: at,
    receivedAt: at,
    providerEventId: null,
    datacontenttype: 'application/json',
    data,
  };
}

function deliveries(count: number): string {
  return count === 1 ? '1 delivery' : `${count} deliveries`;
}

function clip(text: string): string {
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS - 1)}…` : text;
}
