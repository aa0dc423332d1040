/**
 * The periodic half of operational alerts: every `alerts.checkEvery` it looks
 * at the queue and raises herald.queue.stale for each destination whose
 * oldest due delivery has waited `alerts.queueAge` (paused destinations wait
 * on purpose and are skipped), and herald.dead_letters for each destination
 * with deliveries that went dead since the last look. (The breaker alert comes
 * from the deliver stage, at the moment the breaker opens.) The raiser's rate
 * limit makes a problem that lasts produce one alert per `alerts.every`.
 */
import type { AlertsConfig } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { Store } from '../../store/store.js';
import { deadLettersAlert, queueStaleAlert } from './alert-event.js';
import type { AlertRaiser } from './alert-raiser.js';
import { WorkerLoop, type WorkResult } from '../mechanisms/worker-loop.js';

export interface AlertMonitorDeps {
  store: Store;
  raiser: AlertRaiser;
  /** A function, so a config reload changes the settings. */
  settings: () => AlertsConfig;
  /** The destinations an operator paused in this process. */
  paused: () => readonly string[];
  log: Logger;
  now?: () => number;
}

export class AlertMonitor {
  private readonly loop: WorkerLoop;
  private readonly now: () => number;
  private lastCheckAt: number;

  constructor(private readonly deps: AlertMonitorDeps) {
    this.now = deps.now ?? Date.now;
    this.lastCheckAt = this.now();
    this.loop = new WorkerLoop(
      () => this.checkAndSleep(),
      (error) => deps.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'alert check failed; will try again'),
      deps.settings().checkEveryMs,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Looks at the queue and the dead letters once and raises what it finds. */
  async checkOnce(): Promise<void> {
    const { store, raiser } = this.deps;
    const settings = this.deps.settings();
    const now = this.now();
    // One interval of overlap: a delivery that died while the last look ran
    // (its transaction not yet visible) is not missed; seeing one twice
    // costs nothing, the rate limit holds.
    const sinceMs = this.lastCheckAt - settings.checkEveryMs;
    if (!settings.enabled) {
      this.lastCheckAt = now;
      return;
    }
    const [queue, dead] = await Promise.all([store.queueSnapshot(now), store.recentDeadLetters(sinceMs)]);
    this.lastCheckAt = now; // only once read: after a failed look, the next one reaches back further
    const paused = new Set(this.deps.paused());
    const raising = [];
    for (const [destination, { pending, oldestDueAt }] of Object.entries(queue.byDestination)) {
      if (oldestDueAt === null || paused.has(destination) || now - oldestDueAt < settings.queueAgeMs) continue;
      raising.push(raiser.raise(queueStaleAlert(destination, { pending, oldestDueAt }, settings.queueAgeMs, now)));
    }
    for (const [destination, recent] of Object.entries(dead)) {
      raising.push(raiser.raise(deadLettersAlert(destination, recent, sinceMs, now)));
    }
    await Promise.all(raising);
  }

  private async checkAndSleep(): Promise<WorkResult> {
    await this.checkOnce();
    return { again: false, sleepMs: this.deps.settings().checkEveryMs };
  }
}
