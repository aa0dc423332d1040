/**
 * One event as an operator looks at it: the rules that matched it, its
 * deliveries and every attempt of each. The admin API's GET /api/events/{id}
 * and `herald events show` on the store both read it here, so they show the
 * same thing.
 */
import type { NormalizedEvent } from '../../core/event.js';
import type { Attempt, Delivery, RoutingError, Store } from '../../store/store.js';

export interface EventDetail {
  event: NormalizedEvent;
  /** The rules that created its deliveries, in the order of their first delivery. */
  matchedRules: string[];
  /** Rules whose condition threw on the event (they counted as not matching), or a failure to route it at all. */
  routingErrors: RoutingError[];
  deliveries: Array<{ delivery: Delivery; attempts: Attempt[] }>;
}

/** The event with its deliveries and attempts, or undefined when the store has no such event. */
export async function eventDetail(store: Store, id: string): Promise<EventDetail | undefined> {
  const event = await store.getEvent(id);
  if (!event) return undefined;
  // An event has few deliveries (one per fired rule and notify entry, plus replays).
  const deliveries = await store.listDeliveries({ eventId: event.id, limit: 10_000 });
  return {
    event,
    matchedRules: [...new Set(deliveries.map((d) => d.rule))],
    routingErrors: await store.routingErrors(event.id),
    deliveries: await Promise.all(deliveries.map(async (delivery) => ({ delivery, attempts: await store.listAttempts(delivery.id) }))),
  };
}
