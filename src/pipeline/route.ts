/**
 * The route stage: takes stored events in order, finds the rules that fire,
 * renders each notification, and in ONE transaction marks the event routed and
 * creates its deliveries, so a crash never routes an event twice or not at all.
 * A template that fails to render makes a dead delivery with the reason, visible
 * and retryable, instead of losing the notification.
 */
import type { DestinationConfig, SourceConfig } from '../core/config.js';
import type { NormalizedEvent } from '../core/event.js';
import { newEventId } from '../core/ids.js';
import type { Logger } from '../core/log.js';
import type { ChannelType } from '../core/message.js';
import type { ProviderProfile } from '../providers/provider.js';
import type { TemplateSet } from '../render/templates.js';
import type { Rule } from '../routing/rule.js';
import type { RuleSet } from '../routing/rule-set.js';
import type { EventRouting, NewDelivery, Store } from '../store/store.js';
import { eventView } from './event-view.js';
import type { HeraldMetrics } from './metrics.js';
import { StageProgress } from './stage-progress.js';
import { WorkerLoop, type WorkResult } from './worker-loop.js';

/** What routing runs on; swapped as a whole when the config is reloaded. */
export interface RoutingSet {
  rules: RuleSet;
  templates: TemplateSet;
  destinations: Record<string, DestinationConfig>;
  sources: Record<string, SourceConfig>;
}

export interface RouteDeps {
  store: Store;
  routing: () => RoutingSet;
  providers: Record<string, ProviderProfile>;
  log: Logger;
  /** Called after deliveries were created: wakes the deliver stage. */
  onRouted?: () => void;
  batchSize?: number;
  /** How often to look for events when nobody wakes the stage (other processes' events). */
  pollMs?: number;
  metrics?: HeraldMetrics;
  /** The clock of its progress report (readiness); tests inject one. */
  now?: () => number;
}

export interface RoutedNotification {
  rule: Rule;
  delivery: NewDelivery;
}

/** Decides an event's notifications: which rules fire and what each sends. Pure: stores nothing. */
export function planNotifications(event: NormalizedEvent, routing: RoutingSet, provider: ProviderProfile): RoutedNotification[] {
  const source = routing.sources[event.source];
  const views = new Map<string | undefined, NormalizedEvent>();
  const view = (rule: Rule) => {
    if (!views.has(rule.pii)) views.set(rule.pii, eventView(event, provider, source, rule.pii));
    return views.get(rule.pii)!;
  };
  return routing.rules.match(event, view).flatMap((rule) =>
    rule.notify.map((notify) => {
      const destination = routing.destinations[notify.to]!;
      const base = { id: newEventId(), rule: rule.name, destination: notify.to, template: notify.template };
      try {
        const message = routing.templates.render(notify.template, destination.type as ChannelType, {
          event: view(rule),
          rule: { name: rule.name },
          destination: { name: destination.name, type: destination.type },
        }, { format: destination.options.format as 'standard' | 'cloudevents' | undefined });
        return { rule, delivery: { ...base, message, status: 'pending' as const } };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return { rule, delivery: { ...base, message: null, status: 'dead' as const, error: `render-failed: ${reason}` } };
      }
    }),
  );
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
    const { store, providers, log } = this.deps;
    const events = await store.unroutedEvents(this.deps.batchSize ?? 100);
    if (events.length === 0) {
      this.progress.idle();
      return 0;
    }
    this.progress.working();
    const routing = this.deps.routing();
    const routings: EventRouting[] = events.map((event) => {
      const planned = planNotifications(event, routing, providers[event.provider]!);
      for (const rule of new Set(planned.map((p) => p.rule))) this.deps.metrics?.ruleMatches.inc({ rule: rule.name });
      for (const { delivery } of planned) {
        if (delivery.status === 'dead') log.warn({ eventId: event.id, rule: delivery.rule, template: delivery.template, err: delivery.error }, 'template failed to render');
      }
      return { eventId: event.id, rulesVersion: routing.rules.version, deliveries: planned.map((p) => p.delivery) };
    });
    await store.markRouted(routings);
    this.progress.progressed();
    if (routings.some((r) => r.deliveries.length > 0)) this.deps.onRouted?.();
    return events.length;
  }

  private async routeBatch(): Promise<WorkResult> {
    const routed = await this.routeOnce();
    return routed === (this.deps.batchSize ?? 100) ? { again: true } : { again: false, sleepMs: this.deps.pollMs ?? 1000 };
  }
}
