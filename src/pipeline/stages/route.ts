/**
 * The route stage: takes stored events in order, finds the rules that fire,
 * renders each notification, and in ONE transaction marks the event routed and
 * creates its deliveries, so a crash never routes an event twice or not at all.
 * A template that fails to render makes a dead delivery with the reason, visible
 * and retryable, instead of losing the notification.
 *
 * Each event is routed on its own: a rule whose condition throws on an event
 * counts as not matching it, and the error is recorded with the event (and
 * counted, logged and raised as a herald.rule.failed alert); an event that
 * cannot be routed at all is marked routed with no deliveries and the error.
 * Nothing in one event can hold up the others (issue 13).
 */
import type { DestinationConfig, SourceConfig } from '../../core/config.js';
import type { NormalizedEvent } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import { messageChannelOf } from '../../core/message.js';
import { ownValue } from '../../core/own.js';
import type { ProviderProfile } from '../../providers/provider.js';
import type { TemplateSet } from '../../render/templates.js';
import type { Rule } from '../../routing/rule.js';
import { describeThrown, type RuleSet } from '../../routing/rule-set.js';
import type { BatchEntry, EventRouting, NewDelivery, RoutingError, Store } from '../../store/store.js';
import { eventView } from '../events/event-view.js';
import { withThread } from '../events/message-thread.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';
import { StageProgress } from '../mechanisms/stage-progress.js';
import { WorkerLoop, type WorkResult } from '../mechanisms/worker-loop.js';
import type { MediaLinks } from '../mechanisms/media-links.js';
import { batchKey, firstDueAt } from '../../routing/batching.js';

/** What routing runs on; swapped as a whole when the config is reloaded. */
export interface RoutingSet {
  rules: RuleSet;
  templates: TemplateSet;
  destinations: Record<string, DestinationConfig>;
  sources: Record<string, SourceConfig>;
  /** `server.publicUrl`: templates then get `event.consoleUrl`, the subject's timeline in the console. */
  publicUrl?: string;
  /** Signs links to archived media (`event.media.archived.url`); absent without a media archive. */
  mediaLinks?: MediaLinks;
}

/**
 * The console page a message links to: the subject's timeline, or the event
 * when it is about no subject or its subject identifies a person (a link
 * shows in places a masked value would not). Every character a Slack mrkdwn
 * escape would touch is percent-encoded, so the link survives any channel's escaping.
 */
export function consoleUrl(publicUrl: string, event: Pick<NormalizedEvent, 'id' | 'subject'>, provider: ProviderProfile): string {
  const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*_~.]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return event.subject && !provider.subjectIsPersonal
    ? `${publicUrl}/console/subjects/${encode(event.subject)}`
    : `${publicUrl}/console/events/${encode(event.id)}`;
}

export interface RouteDeps {
  store: Store;
  routing: () => RoutingSet;
  providers: Record<string, ProviderProfile>;
  log: Logger;
  /** Called after deliveries were created: wakes the deliver stage. */
  onRouted?: () => void;
  /** Called after events joined batches: wakes the batch stage. */
  onBatched?: () => void;
  batchSize?: number;
  /** How often to look for events when nobody wakes the stage (other processes' events). */
  pollMs?: number;
  metrics?: HeraldMetrics;
  /** Called for each routing error once its event is marked routed: raises the herald.rule.failed alert. */
  onRoutingError?: (eventId: string, error: RoutingError) => void;
  /** The clock of its progress report (readiness); tests inject one. */
  now?: () => number;
}

export interface RoutedNotification {
  rule: Rule;
  delivery: NewDelivery;
}

/** An event joining a batch: a notification of a rule with group, digest or throttle, sent later (pipeline/stages/batch.ts). */
export interface BatchedNotification {
  rule: Rule;
  entry: BatchEntry;
}

/** An event's notifications, the batches it joins, and the rules whose condition threw on it (they count as not matching). */
export interface RoutingPlan {
  notifications: RoutedNotification[];
  batched: BatchedNotification[];
  errors: RoutingError[];
}

/**
 * Decides an event's notifications: which rules fire and what each sends.
 * Pure: stores nothing. Links to archived media are made at `now`.
 */
export function planNotifications(event: NormalizedEvent, routing: RoutingSet, provider: ProviderProfile, now = Date.now()): RoutedNotification[] {
  return planRouting(event, routing, provider, now).notifications;
}

/**
 * planNotifications, with the batches the event joins (at `now`, the
 * routing's clock) and the rules whose condition threw on the event.
 */
export function planRouting(stored: NormalizedEvent, routing: RoutingSet, provider: ProviderProfile, now = Date.now()): RoutingPlan {
  const event = routing.mediaLinks ? routing.mediaLinks.withLink(stored, now) : stored;
  const source = ownValue(routing.sources, event.source);
  const views = new Map<string | undefined, NormalizedEvent>();
  const view = (rule: Rule) => {
    if (!views.has(rule.pii)) {
      const seen = eventView(event, provider, source, rule.pii);
      views.set(rule.pii, routing.publicUrl ? { ...seen, consoleUrl: consoleUrl(routing.publicUrl, event, provider) } : seen);
    }
    return views.get(rule.pii)!;
  };
  const { fired, failed } = routing.rules.evaluate(event, view);
  const batched = fired.flatMap((rule) => {
    const spec = rule.batching;
    if (!spec) return [];
    // The key is read from the event as the rule's templates see it.
    const key = batchKey(view(rule), spec);
    // One batch per destination and template: a notify entry listed twice adds the event once.
    const notifies = [...new Map(rule.notify.map((n) => [`${n.to}\u0000${n.template}`, n])).values()];
    return notifies.map((notify) => ({
      rule,
      entry: {
        rule: rule.name,
        destination: notify.to,
        template: notify.template,
        key: key.id,
        keyLabel: key.label,
        keyValues: key.values,
        spec,
        firstDueAt: firstDueAt(spec, now),
        intervalMs: spec.intervalMs ?? 0,
        now,
      },
    }));
  });
  const notifications = fired
    .filter((rule) => !rule.batching)
    .flatMap((rule) =>
      rule.notify.map((notify) => {
        const destination = routing.destinations[notify.to]!;
        const base = { id: newEventId(), rule: rule.name, destination: notify.to, template: notify.template };
        try {
          const rendered = routing.templates.render(
            notify.template,
            messageChannelOf(destination.type),
            {
              event: view(rule),
              rule: { name: rule.name },
              destination: { name: destination.name, type: destination.type },
            },
            { format: destination.type === 'webhook' ? destination.options.format : undefined },
          );
          const message = withThread(rendered, event, notify, destination);
          return { rule, delivery: { ...base, message, status: 'pending' as const } };
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          return { rule, delivery: { ...base, message: null, status: 'dead' as const, error: `render-failed: ${reason}` } };
        }
      }),
    );
  return { notifications, batched, errors: failed.map(({ rule, error }) => ({ rule: rule.name, error })) };
}

export class RouteStage {
  private readonly loop: WorkerLoop;
  /** Whether routing moves: events waiting and none routed for a while makes herald not ready. */
  readonly progress: StageProgress;

  constructor(private readonly deps: RouteDeps) {
    this.progress = new StageProgress(deps.now);
    this.loop = new WorkerLoop(
      () => this.routeBatch(),
      (error) => {
        this.progress.working();
        deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'routing failed; retrying');
      },
    );
  }

  start(): void {
    this.loop.start();
  }

  /** New events were stored. */
  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Routes one batch of stored events; returns how many it routed. */
  async routeOnce(): Promise<number> {
    const events = await this.deps.store.unroutedEvents(this.deps.batchSize ?? 100);
    if (events.length === 0) {
      this.progress.idle();
      return 0;
    }
    this.progress.working();
    const routing = this.deps.routing();
    const routings = events.map((event) => this.plan(event, routing));
    await this.save(routings);
    this.progress.progressed();
    this.saved(routings);
    return events.length;
  }

  /**
   * An event's routing, for ingest to store with the event (NewEvent.route):
   * as this stage would plan it, with the routing in force now.
   */
  planAtIngest(event: NormalizedEvent): EventRouting {
    return this.plan(event, this.deps.routing());
  }

  /** An event was stored with its routing (by ingest): what follows a routing this stage saved. */
  routedAtIngest(routing: EventRouting): void {
    this.saved([routing]);
  }

  /** After routings were stored: alerts for their errors, and the stages with new work woken. */
  private saved(routings: EventRouting[]): void {
    for (const { eventId, errors = [] } of routings) {
      for (const error of errors) this.deps.onRoutingError?.(eventId, error);
    }
    if (routings.some((r) => r.deliveries.length > 0)) this.deps.onRouted?.();
    if (routings.some((r) => (r.batched?.length ?? 0) > 0)) this.deps.onBatched?.();
  }

  /** One event's routing. Never throws: whatever goes wrong stays with this event. */
  private plan(event: NormalizedEvent, routing: RoutingSet): EventRouting {
    const { providers, log, metrics } = this.deps;
    let plan: RoutingPlan;
    try {
      plan = planRouting(event, routing, providers[event.provider]!, (this.deps.now ?? Date.now)());
    } catch (error) {
      // Not a rule's condition (those are caught per rule): herald itself failed on this event.
      plan = { notifications: [], batched: [], errors: [{ rule: null, error: describeThrown(error) }] };
    }
    for (const rule of new Set([...plan.notifications, ...plan.batched].map((p) => p.rule))) metrics?.ruleMatches.inc({ rule: rule.name });
    for (const { delivery } of plan.notifications) {
      if (delivery.status === 'dead')
        log.warn({ eventId: event.id, rule: delivery.rule, template: delivery.template, err: delivery.error }, 'template failed to render');
    }
    for (const { rule, error } of plan.errors) {
      metrics?.routingErrors.inc({ rule: rule ?? '' });
      if (rule === null) log.error({ eventId: event.id, err: error }, 'event could not be routed; marked routed with no deliveries');
      else log.warn({ eventId: event.id, rule, err: error }, "rule's condition failed on the event; counted as not matching");
    }
    return {
      eventId: event.id,
      rulesVersion: routing.rules.version,
      deliveries: plan.notifications.map((p) => p.delivery),
      ...(plan.batched.length > 0 && { batched: plan.batched.map((b) => b.entry) }),
      ...(plan.errors.length > 0 && { errors: plan.errors }),
    };
  }

  /**
   * Marks the batch routed in one write. Should that write fail, each event is
   * written alone, so that one whose deliveries cannot be stored does not hold
   * up the rest: it is marked routed with none and the error. A failure even
   * then is the store's (unavailable): thrown, and the batch is tried again.
   */
  private async save(routings: EventRouting[]): Promise<void> {
    try {
      await this.deps.store.markRouted(routings);
      return;
    } catch (error) {
      if (routings.length === 1) return this.saveWithoutDeliveries(routings, 0, error);
    }
    for (const [i, routing] of routings.entries()) {
      try {
        await this.deps.store.markRouted([routing]);
      } catch (error) {
        await this.saveWithoutDeliveries(routings, i, error);
      }
    }
  }

  /** Marks `routings[i]` routed with no deliveries and why (replacing it in `routings`); rethrows `cause` if it had none to leave out. */
  private async saveWithoutDeliveries(routings: EventRouting[], i: number, cause: unknown): Promise<void> {
    const routing = routings[i]!;
    if (routing.deliveries.length === 0 && (routing.batched?.length ?? 0) === 0) throw cause;
    const failure: RoutingError = { rule: null, error: `its deliveries could not be stored: ${describeThrown(cause)}` };
    const bare = { ...routing, deliveries: [], batched: [], errors: [...(routing.errors ?? []), failure] };
    await this.deps.store.markRouted([bare]);
    routings[i] = bare;
    this.deps.metrics?.routingErrors.inc({ rule: '' });
    this.deps.log.error({ eventId: routing.eventId, err: failure.error }, 'event could not be routed; marked routed with no deliveries');
  }

  private async routeBatch(): Promise<WorkResult> {
    const routed = await this.routeOnce();
    return routed === (this.deps.batchSize ?? 100) ? { again: true } : { again: false, sleepMs: this.deps.pollMs ?? 1000 };
  }
}
