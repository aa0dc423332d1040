/**
 * herald's Prometheus metrics (prom-client), one registry per running herald.
 * Labels carry only bounded values: configured source, destination and rule
 * names, statuses and outcomes; never an event or delivery id.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { QueueSnapshot } from '../../store/store.js';
import { QueueSnapshotCache, type QueueSnapshotCacheOptions } from './queue-snapshot-cache.js';

export type { QueueSnapshot };

export class HeraldMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'herald_webhook_requests_total',
    help: 'Webhook requests received, by source and HTTP status.',
    labelNames: ['source', 'status'] as const,
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'herald_events_total',
    help: 'Events accepted, by source and result (stored, duplicate).',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });

  readonly storeWriteSeconds = new Histogram({
    name: 'herald_store_write_seconds',
    help: 'Time from handing an event to the store until it was durable.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  readonly ruleMatches = new Counter({
    name: 'herald_rule_matches_total',
    help: 'Rules that fired, by rule.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly batchMessages = new Counter({
    name: 'herald_batch_messages_total',
    help: 'Messages made by rules that batch (group, digest, throttle), by rule.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly throttledEvents = new Counter({
    name: 'herald_throttled_events_total',
    help: 'Events held back by a throttle (counted, not sent), by rule.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly routingErrors = new Counter({
    name: 'herald_routing_errors_total',
    help: 'Rule conditions that threw on an event (the rule counted as not matching it), by rule; rule="" counts events that could not be routed at all.',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'herald_delivery_attempts_total',
    help: 'Delivery attempts, by destination and outcome (delivered, retry, dead, probe).',
    labelNames: ['destination', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly attemptSeconds = new Histogram({
    name: 'herald_delivery_attempt_seconds',
    help: 'Duration of delivery attempts, by destination.',
    labelNames: ['destination'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly breakerState = new Gauge({
    name: 'herald_breaker_open',
    help: "1 while the destination's circuit breaker is open (deliveries paused, probing), 0 when closed.",
    labelNames: ['destination'] as const,
    registers: [this.registry],
  });

  readonly breakerTransitions = new Counter({
    name: 'herald_breaker_transitions_total',
    help: 'Circuit breaker transitions, by destination and new state.',
    labelNames: ['destination', 'state'] as const,
    registers: [this.registry],
  });

  readonly alertsRaised = new Counter({
    name: 'herald_alerts_total',
    help: 'Operational alerts raised (stored as events of source herald), by type and destination (or rule, for herald.rule.failed).',
    labelNames: ['type', 'destination', 'rule'] as const,
    registers: [this.registry],
  });

  readonly alertsSuppressed = new Counter({
    name: 'herald_alerts_suppressed_total',
    help: 'Operational alerts not raised because one of the same type and destination (or rule) was raised within alerts.every.',
    labelNames: ['type', 'destination', 'rule'] as const,
    registers: [this.registry],
  });

  readonly reloads = new Counter({
    name: 'herald_config_reloads_total',
    help: 'Config reloads, by result (applied, rejected).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly configValid = new Gauge({
    name: 'herald_config_last_reload_ok',
    help: '1 when the last config reload was applied, 0 when it was rejected (the previous config runs on).',
    registers: [this.registry],
  });

  /** Metrics kept on other threads (the deliver thread's), merged into every scrape. */
  private readonly elsewhere: Array<() => Promise<Array<MetricObjectWithValues<MetricValue<string>>>>> = [];

  /** Adds metrics read from elsewhere at each scrape; counters and histograms of one name add up. */
  mergeFrom(read: () => Promise<Array<MetricObjectWithValues<MetricValue<string>>>>): void {
    this.elsewhere.push(read);
  }

  /** The Prometheus text of a scrape: this registry's metrics and those merged from elsewhere. */
  async text(): Promise<string> {
    if (this.elsewhere.length === 0) return this.registry.metrics();
    const parts = await Promise.all([
      this.registry.getMetricsAsJSON(),
      // A thread that cannot answer (stopping) leaves its metrics out of this scrape, not the scrape out.
      ...this.elsewhere.map((read) => read().catch(() => [])),
    ]);
    return AggregatorRegistry.aggregate(parts as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics();
  }

  /**
   * @param queue read for the gauges of queue depth, age of the oldest due
   *   delivery and dead letters: a cache shared with others who read the
   *   queue (start-herald.ts shares it with the destinations' health), or a
   *   reader, cached here; either way read at most once per `maxAgeMs`,
   *   however many scrapers there are, so a scrape costs the store nothing
   *   most of the time
   */
  constructor(
    queue?: QueueSnapshotCache | (() => Promise<QueueSnapshot>),
    {
      maxAgeMs,
      now = Date.now,
      processMetrics = true,
    }: QueueSnapshotCacheOptions & {
      /** The process's own metrics (CPU, memory, event loop); off on a second thread, whose process the main one describes. */
      processMetrics?: boolean;
    } = {},
  ) {
    // prom-client names its metrics process_* and nodejs_*: the prefix is herald_ alone.
    if (processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    this.configValid.set(1);
    if (!queue) return;
    const cache = queue instanceof QueueSnapshotCache ? queue : new QueueSnapshotCache(queue, { maxAgeMs, now });
    // A scrape collects every metric at once: the three gauges share one
    // snapshot, read by whichever collects first, while it is in flight, and
    // kept for maxAgeMs after it was read. When the store cannot answer, the
    // scrape still serves every other metric (they tell what went wrong), the
    // queue gauges keep the values of the last snapshot that could be read,
    // and the failed read is not kept (the cache reads again next time).
    const snapshot = (): Promise<QueueSnapshot | undefined> => cache.get().catch(() => undefined);
    new Gauge({
      name: 'herald_queue_pending',
      help: 'Pending deliveries, by destination.',
      labelNames: ['destination'] as const,
      registers: [this.registry],
      async collect() {
        const read = await snapshot();
        if (!read) return;
        this.reset();
        for (const [destination, { pending }] of Object.entries(read.byDestination)) this.set({ destination }, pending);
      },
    });
    new Gauge({
      name: 'herald_queue_oldest_due_age_seconds',
      help: 'How long the oldest due delivery has been waiting, by destination (0 when none is due).',
      labelNames: ['destination'] as const,
      registers: [this.registry],
      async collect() {
        const read = await snapshot();
        if (!read) return;
        // Measured at the scrape, so the age grows between readings of the queue.
        const at = now();
        this.reset();
        for (const [destination, { oldestDueAt }] of Object.entries(read.byDestination)) {
          this.set({ destination }, oldestDueAt === null ? 0 : Math.max(0, (at - oldestDueAt) / 1000));
        }
      },
    });
    new Gauge({
      name: 'herald_dead_letters',
      help: 'Dead deliveries kept for inspection and replay.',
      registers: [this.registry],
      async collect() {
        const read = await snapshot();
        if (read) this.set(read.dead);
      },
    });
  }
}
