/**
 * What an operator can do to a running herald, and the audit entry each act
 * writes: reading personal data, retrying deliveries, replaying events,
 * pausing and resuming destinations. The admin API (http/admin-api.ts) and the
 * web console (http/console/) both act through these functions, so that
 * nothing can be done through one that the other could not do, and every act
 * is audited the same way whichever surface it came through.
 *
 * The entry is written before the act: an act the audit log cannot record is
 * refused (the store's error surfaces as a 500), never done unrecorded.
 */
import path from 'node:path';
import type { NormalizedEvent } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import { ownValue } from '../../core/own.js';
import type { ProviderProfile } from '../../providers/provider.js';
import type { AuditEntry, DeadLetterFilter, QueueSnapshot, Store } from '../../store/store.js';
import type { BreakerState } from '../mechanisms/circuit-breaker.js';
import { eventDetail, type EventDetail } from './event-detail.js';
import { actorName, maskPersonalFields, recordPiiRead } from './personal-data.js';
import { checkRuleNames, replayedRules, replayEvents, replayPage, type ReplayedEvent, type ReplayPage, type ReplayPageRequest } from './replay.js';
import type { SessionRefresh } from './session-refresh.js';
import { retryOneDelivery, type DeliveryRetry } from './retry-delivery.js';
import { planRouting, type RoutingSet } from '../stages/route.js';

/** The audit actions operators' acts write (PII_READ, `event.pii.read`, is in personal-data.ts). */
export const AUDIT_ACTIONS = {
  deliveryRetry: 'delivery.retry',
  deadLettersRetry: 'dead-letters.retry',
  eventReplay: 'event.replay',
  eventsReplay: 'events.replay',
  destinationPause: 'destination.pause',
  destinationResume: 'destination.resume',
  consoleLogin: 'console.login',
  consoleLoginFailed: 'console.login.failed',
  consoleLogout: 'console.logout',
} as const;

/** What the operator acts on: pausing, resuming and waking the deliver stage, and its breakers. */
export interface DeliveryControl {
  pause(destination: string): void;
  resume(destination: string): void;
  paused(): string[];
  wake(): void;
  /** The breaker state of each destination that has one (a destination never tried has none: closed). */
  breakerStates(): Record<string, BreakerState>;
}

export interface OperatorDeps {
  store: Store;
  deliver: DeliveryControl;
  /** The routing in force now (a config reload swaps it): replay goes through it. */
  routing: () => RoutingSet;
  providers: Record<string, ProviderProfile>;
  /** The sources' session APIs, for a replay that fetches sessions again (`refreshSession`); without it such a replay is refused. */
  sessions?: SessionRefresh;
  /** The clock (tests inject one). */
  now?: () => number;
  /**
   * The queue as last read, shared with the metrics' gauges (start-herald.ts:
   * a QueueSnapshotCache, read at most every 5 s); without it, the store's
   * queue is counted at each call.
   */
  queueSnapshot?: () => Promise<QueueSnapshot>;
}

/** Who acts and through what, as written to the audit log. */
export interface Operator {
  /** The user's name: a console account, or what an API client or the CLI says it is. */
  actor: string;
  via: 'api' | 'console' | 'cli';
  remoteAddress?: string;
  /** The machine, for the CLI working on the store. */
  host?: string;
}

/** Where the act came from, for an entry's detail. */
function origin(operator: Operator): Record<string, unknown> {
  return {
    via: operator.via,
    ...(operator.remoteAddress !== undefined && { remoteAddress: operator.remoteAddress }),
    ...(operator.host !== undefined && { host: operator.host }),
  };
}

/** Writes one audit entry for `operator`; resolves once it is durable. */
export function recordAudit(
  store: Store,
  operator: Operator,
  action: string,
  target: string,
  detail: Record<string, unknown> = {},
  now = Date.now(),
): Promise<void> {
  const entry: AuditEntry = {
    id: newEventId(),
    at: now,
    actor: actorName(operator.actor),
    action,
    target,
    detail: { ...origin(operator), ...detail },
  };
  return store.recordAudit(entry);
}

const clock = (deps: OperatorDeps) => (deps.now ?? Date.now)();

/**
 * One event with its deliveries; personal fields masked unless `pii` is
 * "include", which is audited first. Undefined for an unknown event.
 */
export async function readEventDetail(deps: OperatorDeps, operator: Operator, id: string, pii: 'redact' | 'include'): Promise<EventDetail | undefined> {
  const detail = await eventDetail(deps.store, id);
  if (!detail) return undefined;
  if (pii === 'include') {
    await recordPiiRead(deps.store, operator.actor, detail.event.id, origin(operator), clock(deps));
    return detail;
  }
  return { ...detail, event: maskPersonalFields(detail.event, deps.providers) };
}

/** Makes one dead (or waiting) delivery pending and due now; `reason` is the operator's, kept in the audit log. */
export async function retryDelivery(deps: OperatorDeps, operator: Operator, id: string, reason?: string): Promise<DeliveryRetry> {
  await recordAudit(deps.store, operator, AUDIT_ACTIONS.deliveryRetry, id, reason ? { reason } : {}, clock(deps));
  const retry = await retryOneDelivery(deps.store, id, clock(deps));
  if (retry.status === 'retried') deps.deliver.wake();
  return retry;
}

/** Retries several deliveries by id (the console's selection), each audited; returns each one's outcome. */
export async function retryDeliveries(
  deps: OperatorDeps,
  operator: Operator,
  ids: readonly string[],
  reason?: string,
): Promise<Array<{ id: string } & DeliveryRetry>> {
  const results: Array<{ id: string } & DeliveryRetry> = [];
  for (const id of ids) results.push({ id, ...(await retryDelivery(deps, operator, id, reason)) });
  return results;
}

/** Retries every dead letter matching the filter; returns how many. */
export async function retryDeadLetters(deps: OperatorDeps, operator: Operator, filter: DeadLetterFilter, reason?: string): Promise<number> {
  const target = filter.destination ?? filter.rule ?? '*';
  await recordAudit(deps.store, operator, AUDIT_ACTIONS.deadLettersRetry, target, { filter, ...(reason && { reason }) }, clock(deps));
  const retried = await deps.store.retryDeadLetters(filter, clock(deps));
  if (retried > 0) deps.deliver.wake();
  return retried;
}

/** What a replay's audit entry says it asked for, beyond its target. */
function replayDetail(request: { rules?: readonly string[]; rule?: string; refreshSession?: boolean }): Record<string, unknown> {
  return { rules: replayedRules(request) ?? null, ...(request.refreshSession && { refreshSession: true }) };
}

/**
 * Replays one page of a time range (a dry run stores nothing and is not
 * audited); see replay.ts. A dry run's preview with personal fields
 * included is a reading of each previewed event's, audited before it is
 * returned, like GET /api/events/{id}?pii=include.
 */
export async function replayRange(deps: OperatorDeps, operator: Operator, request: ReplayPageRequest): Promise<ReplayPage> {
  if (!request.dryRun) {
    const target = `${request.since}..${request.until ?? ''}`;
    await recordAudit(deps.store, operator, AUDIT_ACTIONS.eventsReplay, target, { ...replayDetail(request), after: request.after ?? null }, clock(deps));
  }
  const page = await replayPage(deps.store, deps.routing(), deps.providers, request, clock(deps), deps.sessions);
  if (page.preview && request.pii === 'include') {
    for (const eventId of new Set(page.preview.map((p) => p.eventId))) await recordPiiRead(deps.store, operator.actor, eventId, origin(operator), clock(deps));
  }
  if (!page.dryRun && page.deliveries > 0) deps.deliver.wake();
  return page;
}

/** Replays one event; undefined when there is no such event. */
export async function replayOneEvent(
  deps: OperatorDeps,
  operator: Operator,
  id: string,
  options: { dryRun: boolean; rules?: readonly string[]; rule?: string; refreshSession?: boolean },
): Promise<ReplayedEvent | undefined> {
  const event = await deps.store.getEvent(id);
  if (!event) return undefined;
  // Before the audit entry: a misspelt rule name replays nothing, nor does an event routing has not sent yet.
  checkRuleNames(replayedRules(options), deps.routing());
  if (!(await deps.store.routedEventIds([id])).has(id)) return { eventId: id, deliveries: [], batched: [], notRouted: true };
  if (!options.dryRun) await recordAudit(deps.store, operator, AUDIT_ACTIONS.eventReplay, id, replayDetail(options), clock(deps));
  const [replayed] = await replayEvents(deps.store, [event], deps.routing(), deps.providers, { ...options, sessions: deps.sessions, now: clock(deps) });
  if (!options.dryRun && replayed!.deliveries.length > 0) deps.deliver.wake();
  return replayed;
}

/** A destination's pause after an act on it. */
export interface PauseState {
  destination: string;
  paused: boolean;
  pausedDestinations: string[];
}

/** Pauses or resumes a configured destination; undefined when the config has no such destination. */
export async function setPaused(deps: OperatorDeps, operator: Operator, destination: string, paused: boolean): Promise<PauseState | undefined> {
  if (!Object.hasOwn(deps.routing().destinations, destination)) return undefined; // `__proto__` is no destination
  await recordAudit(deps.store, operator, paused ? AUDIT_ACTIONS.destinationPause : AUDIT_ACTIONS.destinationResume, destination, {}, clock(deps));
  if (paused) deps.deliver.pause(destination);
  else deps.deliver.resume(destination);
  return { destination, paused: deps.deliver.paused().includes(destination), pausedDestinations: deps.deliver.paused() };
}

/** How one destination is doing, as this process sees it. */
export interface DestinationHealth {
  name: string;
  type: string;
  paused: boolean;
  /** `closed` also for a destination not tried since start. */
  breaker: BreakerState;
  /** Deliveries waiting (due or not), and since when the oldest due one is due (RFC 3339), or null. */
  pending: number;
  oldestDueAt: string | null;
  /** Deliveries that went dead in the last 24 hours, and the latest one's error (scrubbed of secrets by its channel). */
  deadLast24h: number;
  lastError: string | null;
  /** Its delivery rate: the attempts of every process on the store over the last few minutes. */
  rate: DeliveryRate;
}

/** Attempts at a destination's deliveries that started in the last `windowMinutes`: counted, and per minute over the window. */
export interface DeliveryRate {
  windowMinutes: number;
  delivered: number;
  /** Attempts that did not deliver: to be retried, gone dead, or a failed probe of an open circuit breaker. */
  failed: number;
  deliveredPerMinute: number;
  failedPerMinute: number;
}

const DAY_MS = 24 * 3_600_000;
/** The delivery rate's window: long enough to be steady, short enough to show a destination failing now. */
export const RATE_WINDOW_MINUTES = 5;

/** Per minute over the rate's window, to one decimal. */
const perMinute = (count: number) => Math.round((count / RATE_WINDOW_MINUTES) * 10) / 10;

/**
 * Every configured destination's health: pause, breaker, queue depth, recent
 * dead letters and delivery rate. Three store reads; the queue's is shared
 * with the metrics when `deps.queueSnapshot` is set.
 */
export async function destinationHealth(deps: OperatorDeps): Promise<DestinationHealth[]> {
  const now = clock(deps);
  const [snapshot, dead, attempts] = await Promise.all([
    deps.queueSnapshot ? deps.queueSnapshot() : deps.store.queueSnapshot(now),
    deps.store.recentDeadLetters(now - DAY_MS),
    deps.store.recentAttempts(now - RATE_WINDOW_MINUTES * 60_000),
  ]);
  const breakers = deps.deliver.breakerStates();
  const paused = new Set(deps.deliver.paused());
  return Object.values(deps.routing().destinations).map((destination) => {
    const queue = Object.hasOwn(snapshot.byDestination, destination.name) ? snapshot.byDestination[destination.name]! : undefined;
    const recent = Object.hasOwn(dead, destination.name) ? dead[destination.name]! : undefined;
    const tried = Object.hasOwn(attempts, destination.name) ? attempts[destination.name]! : { delivered: 0, failed: 0 };
    return {
      name: destination.name,
      type: destination.type,
      paused: paused.has(destination.name),
      breaker: Object.hasOwn(breakers, destination.name) ? breakers[destination.name]! : 'closed',
      pending: queue?.pending ?? 0,
      oldestDueAt: queue?.oldestDueAt == null ? null : new Date(queue.oldestDueAt).toISOString(),
      deadLast24h: recent?.count ?? 0,
      lastError: recent?.latestError ?? null,
      rate: {
        windowMinutes: RATE_WINDOW_MINUTES,
        delivered: tried.delivered,
        failed: tried.failed,
        deliveredPerMinute: perMinute(tried.delivered),
        failedPerMinute: perMinute(tried.failed),
      },
    };
  });
}

/** A loaded rule as an operator sees it (the console's Rules page, GET /api/rules). */
export interface RuleSummary {
  name: string;
  /** The rules file it came from (its base name). */
  file: string;
  match: unknown;
  when?: unknown;
  notify: Array<{ to: string; template: string }>;
  enabled: boolean;
  stop: boolean;
}

/** The rules in force, in the order they are evaluated. */
export function loadedRules(deps: OperatorDeps): RuleSummary[] {
  return deps.routing().rules.rules.map((r) => ({
    name: r.name,
    file: path.basename(r.file),
    match: r.match,
    ...(r.when !== undefined && { when: r.when }),
    notify: r.notify.map((n) => ({ to: n.to, template: n.template })),
    enabled: r.enabled,
    stop: r.stop,
  }));
}

/** What the rules in force do with one event: the rules that fire, those whose condition threw, and every message rendered. */
export interface RulesTestResult {
  event: NormalizedEvent;
  fired: string[];
  failed: Array<{ rule: string | null; error: string }>;
  notifications: Array<{ rule: string; destination: string; template: string; status: string; error?: string; message: unknown }>;
}

/** The event to test: a stored one by id (its personal fields masked unless `pii` is "include", audited), or one given whole. */
export type RulesTestInput = { eventId: string; pii: 'redact' | 'include' } | { event: NormalizedEvent };

/**
 * `herald rules test` for a running herald: routes one event through the
 * rules in force and renders every message, sending and storing nothing.
 * A stored event's personal fields reach the messages (of a rule with
 * `pii: include`) only when asked for, and that reading is audited like
 * GET /api/events/{id}?pii=include. Undefined for an unknown stored event;
 * an error string for an event of a provider herald does not know.
 */
export async function testRules(deps: OperatorDeps, operator: Operator, input: RulesTestInput): Promise<RulesTestResult | string | undefined> {
  let event: NormalizedEvent | undefined;
  if ('eventId' in input) {
    event = await deps.store.getEvent(input.eventId);
    if (!event) return undefined;
    if (input.pii === 'include') await recordPiiRead(deps.store, operator.actor, event.id, origin(operator), clock(deps));
    else event = maskPersonalFields(event, deps.providers);
  } else {
    event = input.event;
  }
  const provider = ownValue(deps.providers, event.provider);
  if (!provider) return `herald knows no provider "${String(event.provider)}"`;
  const plan = planRouting(event, deps.routing(), provider, clock(deps));
  return {
    event,
    fired: [...new Set(plan.notifications.map((n) => n.rule.name))],
    failed: plan.errors,
    notifications: plan.notifications.map(({ rule, delivery }) => ({
      rule: rule.name,
      destination: delivery.destination,
      template: delivery.template,
      status: delivery.status,
      ...(delivery.error !== undefined && { error: delivery.error }),
      message: delivery.message,
    })),
  };
}
