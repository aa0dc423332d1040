/**
 * Replay: an event already routed goes through the current rules again. The
 * new deliveries are added next to the old ones, which are kept as they are;
 * a dry run plans them and stores nothing. Used by the admin API and by
 * `herald replay`.
 */
import type { NormalizedEvent } from '../core/event.js';
import type { ProviderProfile } from '../providers/provider.js';
import type { NewDelivery, Store } from '../store/store.js';
import { planNotifications, type RoutingSet } from './route.js';

export interface ReplayOptions {
  /** Only this rule's notifications. */
  rule?: string;
  /** Plan only: store nothing. */
  dryRun?: boolean;
  now?: number;
}

export interface ReplayedEvent {
  eventId: string;
  deliveries: NewDelivery[];
}

/** Plans the events' notifications with `routing` and, unless a dry run, stores them in one write. */
export async function replayEvents(
  store: Store,
  events: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  options: ReplayOptions = {},
): Promise<ReplayedEvent[]> {
  const replayed = events.map((event) => {
    const provider = providers[event.provider];
    const planned = provider ? planNotifications(event, routing, provider) : [];
    const deliveries = planned.filter((p) => options.rule === undefined || p.rule.name === options.rule).map((p) => p.delivery);
    return { eventId: event.id, deliveries };
  });
  if (!options.dryRun) await store.addDeliveries(replayed.filter((r) => r.deliveries.length > 0), options.now ?? Date.now());
  return replayed;
}
