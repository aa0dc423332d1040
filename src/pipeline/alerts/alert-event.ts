/**
 * herald's operational alerts as normalized events: source and provider
 * `herald`, category `operations`, the destination the alert is about (for
 * herald.rule.failed, the rule) as `subject`. Stored and routed like any
 * event, so rules send them anywhere (`match: { source: herald }`), with
 * retries, dead letters and replay.
 *
 * `data` holds names, counts, times and error messages as attempts record
 * them (channels scrub URLs, tokens and passwords from those); never a
 * response body, a URL or anything from an event. samples/herald/ holds one
 * of each type, which `herald check` renders templates against: a test keeps
 * them in the shape built here.
 */
import type { DeliveryFailureReason } from '../../core/errors.js';
import { HERALD, type NormalizedEvent } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import { ALERT_TYPES, type AlertType } from '../../providers/herald.js';
import { duration } from '../../render/filters.js';
import type { RecentDeadLetters, RoutingError } from '../../store/store.js';

/** Longest error message an alert quotes. */
const ERROR_CHARS = 300;

/**
 * The event's `data`: what the alert is about (a `destination`, or for
 * herald.rule.failed a `rule`, null when no rule was at fault) and a
 * `summary` (one line for people), then the type's own fields.
 */
export type AlertData = { summary: string; [field: string]: unknown } & ({ destination: string } | { rule: string | null });

/** An alert about one destination (or rule), ready to be raised. */
export interface Alert {
  type: AlertType;
  data: AlertData;
}

/** What an alert is about, as the label of its metrics: `{ destination }` or `{ rule }`. */
export function alertAbout(data: AlertData): { destination: string } | { rule: string } {
  return typeof data.destination === 'string' ? { destination: data.destination } : { rule: typeof data.rule === 'string' ? data.rule : '' };
}

/** The alert's subject: the destination or rule it is about (null: an event no rule was at fault for). */
function alertSubject(data: AlertData): string | null {
  return typeof data.destination === 'string' ? data.destination : typeof data.rule === 'string' ? data.rule : null;
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
      summary:
        `Deliveries to ${destination} are paused after ${opening.failures} failed attempts in a row (${opening.reason}); ` +
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
      summary:
        `${deliveries(queue.pending)} to ${destination} waiting; the oldest has been due for ${duration(waitedMs)} ` +
        `(alerts.queueAge: ${duration(thresholdMs)}).`,
      pending: queue.pending,
      oldestDueAt: new Date(queue.oldestDueAt).toISOString(),
      waitedMs,
      thresholdMs,
    },
  };
}

/**
 * A rule's condition threw on an event, which it counted as not matching (or,
 * with no rule, herald could not route the event at all). Names the event by
 * herald's id and quotes what was thrown: never a value of the event.
 */
export function ruleFailedAlert(eventId: string, failure: RoutingError): Alert {
  const summary =
    failure.rule === null
      ? `An event could not be routed and was marked routed with no deliveries (${clip(failure.error)}); replay it once fixed.`
      : `Rule ${failure.rule} failed on an event and counted as not matching it (${clip(failure.error)}); the other rules and events went on.`;
  return {
    type: ALERT_TYPES.ruleFailed,
    data: { rule: failure.rule, summary, eventId, error: clip(failure.error) },
  };
}

/** The normalized event of an alert (or of a shipped sample's `data`). */
export function alertEvent(type: AlertType, data: AlertData, nowMs: number): NormalizedEvent {
  const at = new Date(nowMs).toISOString();
  return {
    specversion: '1.0',
    id: newEventId(),
    source: HERALD,
    provider: HERALD,
    type,
    category: 'operations',
    outcome: null,
    subject: alertSubject(data),
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
