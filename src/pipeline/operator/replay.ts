/**
 * Replay: an event already routed goes through the current rules again. The
 * new deliveries are added next to the old ones, which are kept as they are;
 * an event of a rule that batches (group, digest, throttle) joins the rule's
 * batch again, as routing would add it, and goes out in its next message; a
 * dry run plans them and stores nothing. Used by the admin API and by
 * `herald replay`, on the store or through the API a page at a time.
 */
import { UnknownRuleError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { ProviderProfile } from '../../providers/provider.js';
import { pageOf, type BatchEntry, type EventFilter, type NewDelivery, type Store } from '../../store/store.js';
import { planRouting, type RoutingSet } from '../stages/route.js';

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
  /** The batches it joins again (an event still pending in one stays there once: Store.addDeliveries). */
  batched: BatchEntry[];
}

/** Plans the events' notifications and batches with `routing` and, unless a dry run, stores them in one write. */
export async function replayEvents(
  store: Store,
  events: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  options: ReplayOptions = {},
): Promise<ReplayedEvent[]> {
  const now = options.now ?? Date.now();
  const ofRule = (planned: { rule: { name: string } }) => options.rule === undefined || planned.rule.name === options.rule;
  const replayed = events.map((event) => {
    const provider = providers[event.provider];
    const plan = provider ? planRouting(event, routing, provider, now) : { notifications: [], batched: [] };
    const deliveries = plan.notifications.filter(ofRule).map((p) => p.delivery);
    const batched = plan.batched.filter(ofRule).map((b) => b.entry);
    return { eventId: event.id, deliveries, batched };
  });
  if (!options.dryRun)
    await store.addDeliveries(
      replayed.filter((r) => r.deliveries.length > 0 || r.batched.length > 0),
      now,
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
  /** Events added to batches (planned, on a dry run) on this page, one per batch joined, and by rule (rules with group, digest or throttle). */
  batched: number;
  batchedByRule: Record<string, number>;
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
  const batched = replayed.flatMap((r) => r.batched);
  return {
    dryRun,
    events: page.items.length,
    deliveries: deliveries.length,
    byRule: countByRule(deliveries),
    batched: batched.length,
    batchedByRule: countByRule(batched),
    nextCursor: page.nextCursor,
    ...(total !== undefined && { total }),
  };
}

function countByRule(items: ReadonlyArray<{ rule: string }>): Record<string, number> {
  const byRule = new Map<string, number>();
  for (const { rule } of items) byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  return Object.fromEntries(byRule);
}
