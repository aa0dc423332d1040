/**
 * Raises operational alerts, at most one of a type about a destination (or
 * rule) per `alerts.every`, so a destination failing all day produces one alert an
 * hour, not one per failed delivery.
 *
 * The limit holds across every herald process on one store because it IS the
 * store's dedupe: an alert is stored under the key `<type>:<destination>` (or `<type>:<rule>`),
 * remembered for `every`, and the store takes over an expired key, so the
 * window slides from the last alert raised by anyone. In front of that, each
 * process remembers until when a key is quiet and does not even write before
 * then. An alert that cannot be stored is logged and dropped; the next
 * occasion tries again.
 */
import type { Logger } from '../../core/log.js';
import type { InsertResult, Store } from '../../store/store.js';
import { alertAbout, alertEvent, type Alert } from './alert-event.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';

export interface AlertRaiserDeps {
  store: Store;
  log: Logger;
  /** `alerts.every` in ms; a function, so a config reload changes it. */
  everyMs: () => number;
  metrics?: HeraldMetrics;
  /** Called after an alert was stored: wakes the route stage. */
  onRaised?: () => void;
  now?: () => number;
}

export type RaiseOutcome = 'raised' | 'suppressed' | 'failed';

export class AlertRaiser {
  /** Until when (ms) each `<type>:<destination or rule>` key is quiet in this process. */
  private readonly quietUntil = new Map<string, number>();
  private readonly raising = new Set<Promise<RaiseOutcome>>();
  private readonly now: () => number;

  constructor(private readonly deps: AlertRaiserDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Stores the alert as an event unless one like it was raised within `every`. Never rejects. */
  raise(alert: Alert): Promise<RaiseOutcome> {
    const raising = this.tryRaise(alert);
    this.raising.add(raising);
    void raising.finally(() => this.raising.delete(raising));
    return raising;
  }

  /** Waits for the alerts being stored (shutdown, before the store closes). */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.raising]);
  }

  private async tryRaise(alert: Alert): Promise<RaiseOutcome> {
    const { store, log, metrics } = this.deps;
    const about = alertAbout(alert.data);
    const key = `${alert.type}:${'destination' in about ? about.destination : about.rule}`;
    const labels = { type: alert.type, ...about };
    const now = this.now();
    const everyMs = this.deps.everyMs();
    if ((this.quietUntil.get(key) ?? -Infinity) > now) {
      metrics?.alertsSuppressed.inc(labels);
      return 'suppressed';
    }
    this.quietUntil.set(key, Infinity); // one write per key at a time
    const event = alertEvent(alert.type, alert.data, now);
    let stored: InsertResult;
    try {
      stored = await store.insertEvent({ event, dedupeKey: key, dedupeUntilMs: now + everyMs });
    } catch (error) {
      this.quietUntil.delete(key);
      log.error(
        { alert: alert.type, ...about, err: error instanceof Error ? error.message : String(error) },
        'could not store an operational alert; the next occasion tries again',
      );
      return 'failed';
    }
    if (stored.status === 'duplicate') {
      // Raised by another process, or by this one before a restart: quiet until that alert's window ends.
      const first = await store.getEvent(stored.id).catch(() => undefined);
      this.quietUntil.set(key, (first ? Date.parse(first.receivedAt) : now) + everyMs);
      metrics?.alertsSuppressed.inc(labels);
      return 'suppressed';
    }
    this.quietUntil.set(key, now + everyMs);
    metrics?.alertsRaised.inc(labels);
    log.warn({ alert: alert.type, ...about, eventId: event.id }, 'operational alert raised');
    this.deps.onRaised?.();
    return 'raised';
  }
}
