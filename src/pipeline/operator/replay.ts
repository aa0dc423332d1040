/**
 * Replay: an event already routed goes through the current rules again. The
 * new deliveries are added next to the old ones, which are kept as they are;
 * a dry run plans them and stores nothing. Used by the admin API and by
 * `herald replay`, on the store or through the API a page at a time.
 */
import { UnknownRuleError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { ProviderProfile } from '../../providers/provider.js';
import { pageOf, type EventFilter, type NewDelivery, type Store } from '../../store/store.js';
import { planNotifications, type RoutingSet } from '../stages/route.js';

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
  if (!options.dryRun)
    await store.addDeliveries(
      replayed.filter((r) => r.deliveries.length > 0),
      options.now ?? Date.now(),
    );
  return replayed;
}

/** One page of a replay over the events received in a time range. */
export interface ReplayPageRequest {
  /** Events received at or after this time (RFC 3339). */
  since: string;
  /** Events received before this time (RFC 3339). */
  until?: string;
  rule?: string;
  dryRun?: boolean;
  /** The previous page's `nextCursor`; absent on the first page. */
  after?: string;
  /** Events per page (default 500): one store read and one write each. */
  limit?: number;
}

export interface ReplayPage {
  dryRun: boolean;
  /** Events replayed on this page. */
  events: number;
  /** Deliveries created (or planned, on a dry run) on this page, and by rule. */
  deliveries: number;
  byRule: Record<string, number>;
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: string | null;
  /** How many events the range holds: on the first page only (counting is a scan), for a progress bar. */
  total?: number;
}

/**
 * Replays one page of the events received in a range, oldest first. An
 * unknown `rule` is an UnknownRuleError rather than a replay that quietly
 * creates nothing (a misspelt name).
 */
export async function replayPage(
  store: Store,
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  request: ReplayPageRequest,
  now = Date.now(),
): Promise<ReplayPage> {
  const { rule, dryRun = false } = request;
  const ruleNames = routing.rules.rules.map((r) => r.name);
  if (rule !== undefined && !ruleNames.includes(rule)) throw new UnknownRuleError(rule, ruleNames);
  const range: EventFilter = { since: request.since, until: request.until };
  const total = request.after === undefined ? await store.countEvents(range) : undefined;
  const page = await pageOf((f: EventFilter) => store.listEvents(f), { ...range, after: request.after, limit: request.limit ?? 500 });
  const replayed = await replayEvents(store, page.items, routing, providers, { rule, dryRun, now });
  const deliveries = replayed.flatMap((r) => r.deliveries);
  const byRule = new Map<string, number>();
  for (const d of deliveries) byRule.set(d.rule, (byRule.get(d.rule) ?? 0) + 1);
  return {
    dryRun,
    events: page.items.length,
    deliveries: deliveries.length,
    byRule: Object.fromEntries(byRule),
    nextCursor: page.nextCursor,
    ...(total !== undefined && { total }),
  };
}
