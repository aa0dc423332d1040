/**
 * herald as the provider of its own events: the operational alerts it raises
 * when a destination's breaker opens, dead letters appear, a queue goes
 * stale, or a rule's condition fails on an event (pipeline/alerts/). They
 * are stored and routed like any event, but never received: no source can
 * name this provider, so it has no signature scheme, payload schema or dedupe
 * key of a request, only its types.
 */
import { HERALD } from '../core/event.js';
import type { ProviderProfile } from './provider.js';

/** The alert types, as rules match them (`type: herald.breaker.*`). */
export const ALERT_TYPES = {
  /** A destination's circuit breaker went from closed to open: its deliveries wait. */
  breakerOpened: 'herald.breaker.opened',
  /** Deliveries to a destination went to the dead letters. */
  deadLetters: 'herald.dead_letters',
  /** A destination's oldest due delivery has waited longer than `alerts.queueAge`. */
  queueStale: 'herald.queue.stale',
  /** A rule's condition threw on an event (it counted as not matching), or an event could not be routed at all. */
  ruleFailed: 'herald.rule.failed',
} as const;

export type AlertType = (typeof ALERT_TYPES)[keyof typeof ALERT_TYPES];

export const heraldEvents: ProviderProfile = {
  id: HERALD,
  defaultCategory: 'operations',
  // Alerts carry destination names, counts, times and scrubbed error messages: nothing personal.
  personalFields: [],
  knownTypes: Object.fromEntries(Object.values(ALERT_TYPES).map((type) => [type, { category: 'operations', outcome: null }])),
};
