/**
 * Replay: an event already routed goes through the current rules again. The
 * new deliveries are added next to the old ones, which are kept as they are;
 * an event of a rule that batches (group, digest, throttle) joins the rule's
 * batch again, as routing would add it, and goes out in its next message; a
 * dry run plans them and stores nothing. Used by the admin API and by
 * `herald replay`, on the store or through the API a page at a time.
 *
 * An event is replayed with the session stored with it, unless the replay
 * asks for it again (`refreshSession`: session-refresh.ts): then the fresh
 * session is what the event is routed and rendered with, and it is stored
 * with the event in the write that adds the deliveries (a dry run fetches
 * too, so that its plan shows the fresh state, and stores nothing).
 */
import { UnknownRuleError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { ownValue } from '../../core/own.js';
import type { ProviderProfile } from '../../providers/provider.js';
import { pageOf, type AddedDeliveries, type BatchEntry, type EventFilter, type NewDelivery, type Store } from '../../store/store.js';
import { planRouting, type RoutingSet } from '../stages/route.js';
import { maskPersonalFields } from './personal-data.js';
import { refreshSessions, type SessionRefresh, type SessionRefreshResult } from './session-refresh.js';

export interface ReplayOptions {
  /** Only these rules' notifications and batches; absent or empty: every rule's. */
  rules?: readonly string[];
  /** One rule: the same as `rules: [rule]` (kept for earlier callers); with `rules`, both count. */
  rule?: string;
  /** Plan only: store nothing. */
  dryRun?: boolean;
  /** Fetch the session again from the provider's API for the events their source enriches (default false). */
  refreshSession?: boolean;
  /** How: needed with refreshSession. */
  sessions?: SessionRefresh;
  now?: number;
}

/** Whether an event's session was fetched again, when the replay asked for it and its source enriches the event. */
export type SessionRefreshOutcome = { refreshed: true } | { refreshed: false; error: string };

export interface ReplayedEvent {
  eventId: string;
  deliveries: NewDelivery[];
  /** The batches it joins again (an event still pending in one stays there once: Store.addDeliveries). */
  batched: BatchEntry[];
  /** With refreshSession, for an event whose source enriches it; on failure it was replayed with the session stored. */
  sessionRefresh?: SessionRefreshOutcome;
  /**
   * The event is not routed yet (it waits for its enrichment, or for the
   * route stage): it is left to routing, which sends it with the rules in
   * force, so the replay plans nothing for it. Replayed too, it would be sent twice.
   */
  notRouted?: true;
}

/** A session a replay could not fetch again: its events were replayed with the session stored. */
export interface SessionRefreshFailure {
  source: string;
  sessionId: string | null;
  eventIds: string[];
  /** Why (no key or secret in it). */
  error: string;
}

/** The replay of some events, with the sessions it fetched again. */
interface Replay {
  replayed: ReplayedEvent[];
  /** Each event as it was routed: fetched again, or as stored. */
  routed: NormalizedEvent[];
  refreshed: SessionRefreshResult[];
}

/** The rules a replay is limited to, from `rules` and the older `rule`; undefined: every rule. */
export function replayedRules(options: { rules?: readonly string[]; rule?: string }): string[] | undefined {
  const names = [...(options.rules ?? []), ...(options.rule === undefined ? [] : [options.rule])];
  return names.length === 0 ? undefined : [...new Set(names)];
}

/**
 * Plans the events' notifications and batches with `routing` and, unless a
 * dry run, stores them (and the sessions fetched again) in one write.
 */
export async function replayEvents(
  store: Store,
  events: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  options: ReplayOptions = {},
): Promise<ReplayedEvent[]> {
  checkRuleNames(replayedRules(options), routing);
  return (await replay(store, events, routing, providers, options)).replayed;
}

/** A replay naming a rule that is not loaded is an UnknownRuleError, not a replay that quietly creates nothing (a misspelt name). */
export function checkRuleNames(rules: readonly string[] | undefined, routing: RoutingSet): void {
  const ruleNames = routing.rules.rules.map((r) => r.name);
  const unknown = rules?.find((name) => !ruleNames.includes(name));
  if (unknown !== undefined) throw new UnknownRuleError(unknown, ruleNames);
}

async function replay(
  store: Store,
  events: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  options: ReplayOptions,
): Promise<Replay> {
  if (options.refreshSession && !options.sessions) throw new Error('replay: refreshSession needs `sessions`, the source lookups to fetch them with');
  // Read before planning: an event routed after this read is left to routing too, and routing never comes undone.
  const routedIds = await store.routedEventIds(events.map((e) => e.id));
  const refreshed = options.refreshSession
    ? await refreshSessions(
        events.filter((e) => routedIds.has(e.id)),
        options.sessions!,
      )
    : [];
  const outcomes = new Map<string, { fresh?: NormalizedEvent; error?: string }>();
  for (const result of refreshed) {
    for (const id of result.eventIds) outcomes.set(id, result.events ? { fresh: result.events.get(id) } : { error: result.error });
  }
  const now = options.now ?? Date.now();
  const only = replayedRules(options);
  const ofRule = (planned: { rule: { name: string } }) => only === undefined || only.includes(planned.rule.name);
  const additions: AddedDeliveries[] = [];
  const routed: NormalizedEvent[] = [];
  const replayed = events.map((stored): ReplayedEvent => {
    if (!routedIds.has(stored.id)) {
      routed.push(stored);
      return { eventId: stored.id, deliveries: [], batched: [], notRouted: true };
    }
    const outcome = outcomes.get(stored.id);
    const event = outcome?.fresh ?? stored;
    routed.push(event);
    const provider = providers[event.provider];
    const plan = provider ? planRouting(event, routing, provider, now) : { notifications: [], batched: [] };
    const deliveries = plan.notifications.filter(ofRule).map((p) => p.delivery);
    const batched = plan.batched.filter(ofRule).map((b) => b.entry);
    if (deliveries.length > 0 || batched.length > 0 || outcome?.fresh)
      additions.push({ eventId: stored.id, deliveries, batched, ...(outcome?.fresh && { event: outcome.fresh }) });
    if (!outcome) return { eventId: stored.id, deliveries, batched };
    return { eventId: stored.id, deliveries, batched, sessionRefresh: outcome.fresh ? { refreshed: true } : { refreshed: false, error: outcome.error! } };
  });
  if (!options.dryRun) await store.addDeliveries(additions, now);
  return { replayed, routed, refreshed };
}

/** One page of a replay over the events received in a time range. */
export interface ReplayPageRequest {
  /** Events received at or after this time (RFC 3339). */
  since: string;
  /** Events received before this time (RFC 3339). */
  until?: string;
  /** Only these rules (see ReplayOptions); absent or empty: every rule. */
  rules?: readonly string[];
  /** One rule: the same as `rules: [rule]`. */
  rule?: string;
  dryRun?: boolean;
  /** On a dry run: also return the first planned messages of the page, rendered as they would be sent (`preview`). */
  preview?: boolean;
  /** What the preview shows of personal fields: masked (the default), or as sent ("include": the caller audits the reading). */
  pii?: 'redact' | 'include';
  /** Fetch the sessions again (see ReplayOptions); the fetches are paced by the source's rate limit, so a page takes longer. */
  refreshSession?: boolean;
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
  /** Events of the page not routed yet, left to routing (ReplayedEvent.notRouted). */
  notRouted: number;
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: string | null;
  /** How many events the range holds: on the first page only (counting is a scan), for a progress bar. */
  total?: number;
  /** With refreshSession: the sessions fetched again on this page, and those that could not be. */
  sessions?: { refreshed: number; failed: SessionRefreshFailure[] };
  /** On a dry run asked for it: the page's first planned messages (at most REPLAY_PREVIEW_LIMIT), in event order. */
  preview?: ReplayPreviewItem[];
}

/** How many planned messages a dry run's preview shows at most. */
export const REPLAY_PREVIEW_LIMIT = 10;

/**
 * One planned message of a dry run: a delivery, rendered as it would be sent
 * (as `POST /api/rules/test` renders it), or an event joining a batch, whose
 * message is rendered only when the batch goes out.
 */
export type ReplayPreviewItem =
  | {
      kind: 'delivery';
      eventId: string;
      rule: string;
      destination: string;
      template: string;
      /** `dead` when its template failed to render (`error` says why; no message). */
      status: 'pending' | 'dead';
      error?: string;
      message: unknown;
    }
  | { kind: 'batch'; eventId: string; rule: string; destination: string; template: string; key: string };

/**
 * Replays one page of the events received in a range, oldest first; an
 * unknown rule name is an UnknownRuleError.
 */
export async function replayPage(
  store: Store,
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  request: ReplayPageRequest,
  now = Date.now(),
  sessions?: SessionRefresh,
): Promise<ReplayPage> {
  const { dryRun = false, refreshSession = false } = request;
  const rules = replayedRules(request);
  checkRuleNames(rules, routing);
  const range: EventFilter = { since: request.since, until: request.until };
  const total = request.after === undefined ? await store.countEvents(range) : undefined;
  const page = await pageOf((f: EventFilter) => store.listEvents(f), { ...range, after: request.after, limit: request.limit ?? 500 });
  const { replayed, routed, refreshed } = await replay(store, page.items, routing, providers, { rules, dryRun, now, refreshSession, sessions });
  const deliveries = replayed.flatMap((r) => r.deliveries);
  const batched = replayed.flatMap((r) => r.batched);
  return {
    dryRun,
    events: page.items.length,
    deliveries: deliveries.length,
    byRule: countByRule(deliveries),
    batched: batched.length,
    batchedByRule: countByRule(batched),
    notRouted: replayed.filter((r) => r.notRouted).length,
    nextCursor: page.nextCursor,
    ...(total !== undefined && { total }),
    ...(refreshSession && {
      sessions: {
        refreshed: refreshed.filter((r) => r.events).length,
        failed: refreshed
          .filter((r) => r.error !== undefined)
          .map(({ source, sessionId, eventIds, error }) => ({ source, sessionId, eventIds, error: error! })),
      },
    }),
    ...(dryRun && request.preview && { preview: previewOf(replayed, routed, routing, providers, { rules, pii: request.pii ?? 'redact', now }) }),
  };
}

/**
 * The first planned messages of a dry run. With personal fields included
 * they are the planned deliveries' own messages; masked, each event is
 * planned again from its masked copy, as the Rules page tests a stored event
 * for a viewer (a rule whose condition reads a masked field may then differ).
 */
function previewOf(
  replayed: readonly ReplayedEvent[],
  routed: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
  options: { rules: string[] | undefined; pii: 'redact' | 'include'; now: number },
): ReplayPreviewItem[] {
  const items: ReplayPreviewItem[] = [];
  const ofRule = (name: string) => options.rules === undefined || options.rules.includes(name);
  for (const [i, planned] of replayed.entries()) {
    if (items.length >= REPLAY_PREVIEW_LIMIT) break;
    if (planned.deliveries.length === 0 && planned.batched.length === 0) continue;
    let { deliveries, batched } = planned;
    if (options.pii === 'redact') {
      const provider = ownValue(providers, routed[i]!.provider)!;
      const plan = planRouting(maskPersonalFields(routed[i]!, providers), routing, provider, options.now);
      deliveries = plan.notifications.filter((n) => ofRule(n.rule.name)).map((n) => n.delivery);
      batched = plan.batched.filter((b) => ofRule(b.rule.name)).map((b) => b.entry);
    }
    const eventId = planned.eventId;
    for (const d of deliveries)
      items.push({
        kind: 'delivery',
        eventId,
        rule: d.rule,
        destination: d.destination,
        template: d.template,
        status: d.status,
        ...(d.error !== undefined && { error: d.error }),
        message: d.message,
      });
    for (const b of batched) items.push({ kind: 'batch', eventId, rule: b.rule, destination: b.destination, template: b.template, key: b.keyLabel });
  }
  return items.slice(0, REPLAY_PREVIEW_LIMIT);
}

function countByRule(items: ReadonlyArray<{ rule: string }>): Record<string, number> {
  const byRule = new Map<string, number>();
  for (const { rule } of items) byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  return Object.fromEntries(byRule);
}
