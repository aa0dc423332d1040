/**
 * The deliver stage: claims due deliveries per destination within its
 * concurrency and rate, sends each through its channel, records every attempt
 * and decides what follows (delivered, retry later, dead letter). The message
 * sent is the one rendered at routing time; nothing is re-rendered.
 */
import { DeliveryError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { ownValue } from '../../core/own.js';
import type { Channel } from '../../channels/channel.js';
import type { Attempt, AttemptVerdict, Delivery, Store } from '../../store/store.js';
import type { BreakerOpening } from '../alerts/alert-event.js';
import { CircuitBreaker, type BreakerState } from '../mechanisms/circuit-breaker.js';
import { verdictAfterFailure, windowStart, type DeliveryPolicy } from '../mechanisms/delivery-policy.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';
import { RateLimiter } from '../mechanisms/rate-limiter.js';
import { StageProgress } from '../mechanisms/stage-progress.js';
import { WorkerLoop, type WorkResult } from '../mechanisms/worker-loop.js';

export interface DeliverDeps {
  store: Store;
  /** The destinations' channels and policies, by destination name; a function, so a config reload swaps them. */
  destinations: () => { channels: Record<string, Channel>; policies: Record<string, DeliveryPolicy> };
  log: Logger;
  /** This process's name on its claims. */
  claimant: string;
  now?: () => number;
  random?: () => number;
  /** Longest sleep between looks at the queue (other processes' work, expired claims). */
  pollMs?: number;
  metrics?: HeraldMetrics;
  /**
   * Called when a destination's breaker goes from closed to open (not when a
   * failed probe keeps it open): the breaker alert.
   */
  onBreakerOpened?: (destination: string, opening: BreakerOpening) => void;
  /** Called on every breaker transition (the deliver thread tells the main thread). */
  onBreakerState?: (destination: string, state: BreakerState) => void;
  /** Where its progress is kept, when another thread reads it (deliver-thread.ts). */
  progressBuffer?: SharedArrayBuffer;
}

const MAX_CLAIM = 100;
/** With attempts in flight, claim again once 1/CLAIM_WHEN_FREE of a destination's concurrency is free. */
const CLAIM_WHEN_FREE = 4;

export class DeliverStage {
  private readonly loop: WorkerLoop;
  private readonly inFlight = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  /** Destinations paused by an operator: in memory, per process (a restart resumes them). */
  private readonly pausedDestinations = new Set<string>();
  private readonly now: () => number;
  /**
   * Whether delivering moves: deliveries claimed (or a failed pass) and no
   * attempt recorded for a while makes herald not ready. Paused destinations
   * and open breakers claim nothing: waiting for them is no stall.
   */
  readonly progress: StageProgress;

  constructor(private readonly deps: DeliverDeps) {
    this.now = deps.now ?? Date.now;
    this.progress = new StageProgress(this.now, deps.progressBuffer);
    this.loop = new WorkerLoop(
      () => this.claimAndSend(),
      (error) => {
        this.progress.working();
        deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'delivery loop failed; retrying');
      },
    );
  }

  start(): void {
    this.loop.start();
  }

  /** New deliveries exist, or a slot was freed. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops sending to a destination, like an open breaker, until resume(); its deliveries wait in the queue. */
  pause(destination: string): void {
    this.pausedDestinations.add(destination);
  }

  resume(destination: string): void {
    if (this.pausedDestinations.delete(destination)) this.loop.wake();
  }

  /** The paused destinations, by name. */
  paused(): string[] {
    return [...this.pausedDestinations].sort();
  }

  /** Stops claiming and waits for the attempts in flight to finish and be recorded. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled([...this.sending]);
  }

  private async claimAndSend(): Promise<WorkResult> {
    const { store, claimant } = this.deps;
    const { policies } = this.deps.destinations();
    const pollMs = this.deps.pollMs ?? 1000;
    let sleepMs = pollMs;
    const open: string[] = [];
    for (const [destination, policy] of Object.entries(policies)) {
      if (this.pausedDestinations.has(destination)) continue; // resume() wakes the loop
      const inFlight = this.inFlight.get(destination) ?? 0;
      const free = policy.concurrency - inFlight;
      // A finishing attempt wakes the loop. While attempts are in flight, wait
      // until a quarter of the slots are free: one claim (a query and a write)
      // per finished attempt cost more than the attempts when draining a backlog.
      if (free <= 0 || (inFlight > 0 && free < Math.ceil(policy.concurrency / CLAIM_WHEN_FREE))) continue;
      const now = this.now();
      const breaker = this.breaker(destination, policy);
      const permit = breaker.permit(now);
      if (permit === 'wait') {
        // Open: wait for the probe time. Probing: the probe's end wakes the loop.
        if (breaker.state === 'open') sleepMs = Math.min(sleepMs, breaker.msUntilProbe(now));
        continue;
      }
      const limiter = this.limiter(policy);
      const allowed = limiter ? Math.min(free, limiter.available(now)) : free;
      if (allowed <= 0) {
        if (permit === 'probe') breaker.probeSkipped();
        sleepMs = Math.min(sleepMs, limiter!.msUntilNext(now));
        continue;
      }
      open.push(destination);
      const claimTtlMs = policy.timeoutMs * 2 + 30_000;
      const limit = permit === 'probe' ? 1 : Math.min(allowed, MAX_CLAIM);
      const claimed = await store.claimDueDeliveries({ destination, limit, claimant, claimTtlMs, now });
      if (permit === 'probe' && claimed.length === 0) breaker.probeSkipped();
      if (claimed.length > 0) this.progress.working();
      for (const delivery of claimed) {
        limiter?.take(this.now());
        this.track(destination, this.send(delivery, policy, breaker, permit === 'probe'));
      }
    }
    // A destination with attempts in flight wakes the loop when one finishes:
    // only the idle ones need the store to say when their next delivery falls due.
    const idle = open.filter((destination) => (this.inFlight.get(destination) ?? 0) === 0);
    if (idle.length > 0) {
      const due = await store.nextDueAt(idle);
      if (due !== undefined) sleepMs = Math.min(sleepMs, due - this.now());
    }
    // Nothing in flight anywhere: whatever waits is not due, paused or behind an open breaker.
    if (this.sending.size === 0) this.progress.idle();
    return { again: false, sleepMs };
  }

  private breaker(destination: string, policy: DeliveryPolicy): CircuitBreaker {
    let breaker = this.breakers.get(destination);
    if (!breaker) {
      breaker = new CircuitBreaker(policy.breaker, (state: BreakerState, detail) => {
        this.deps.metrics?.breakerTransitions.inc({ destination, state });
        this.deps.metrics?.breakerState.set({ destination }, state === 'open' ? 1 : 0);
        this.deps.onBreakerState?.(destination, state);
        if (state === 'open') {
          this.deps.log.warn({ destination, ...detail }, 'circuit breaker open: pausing deliveries to this destination');
        } else {
          this.deps.log.info({ destination }, 'circuit breaker closed: deliveries resume');
        }
      });
      this.breakers.set(destination, breaker);
    }
    return breaker;
  }

  /** The breaker state of each destination that has one. */
  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries([...this.breakers].map(([name, breaker]) => [name, breaker.state]));
  }

  private limiter(policy: DeliveryPolicy): RateLimiter | undefined {
    if (!policy.rate) return undefined;
    // Keyed by the rate too: after a reload that changes it, a new bucket applies.
    const key = `${policy.rateKey}:${policy.rate.count}/${policy.rate.perMs}`;
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new RateLimiter(policy.rate.count, policy.rate.perMs, this.now());
      this.limiters.set(key, limiter);
    }
    return limiter;
  }

  private track(destination: string, sending: Promise<void>): void {
    this.inFlight.set(destination, (this.inFlight.get(destination) ?? 0) + 1);
    this.sending.add(sending);
    void sending.finally(() => {
      this.sending.delete(sending);
      this.inFlight.set(destination, this.inFlight.get(destination)! - 1);
      this.loop.wake();
    });
  }

  /** One attempt: send, then record it with its verdict. Never throws. */
  private async send(delivery: Delivery, policy: DeliveryPolicy, breaker: CircuitBreaker, probe: boolean): Promise<void> {
    const { store, log, claimant } = this.deps;
    const { channels } = this.deps.destinations();
    const number = delivery.attempts + 1;
    const startedAt = this.now();
    let attempt: Attempt;
    let verdict: AttemptVerdict;
    try {
      const channel = ownValue(channels, delivery.destination);
      if (!channel) throw DeliveryError.retryable('client-error', `destination "${delivery.destination}" is not in the config`);
      const result = await channel.send(delivery.message!, {
        deliveryId: delivery.id,
        messageId: delivery.id,
        attempt: number,
        timeoutMs: policy.timeoutMs,
      });
      breaker.succeeded();
      verdict = { status: 'delivered' };
      attempt = this.attempt(delivery, number, startedAt, 'delivered', { status: result.status, excerpt: result.excerpt });
    } catch (thrown) {
      const error =
        thrown instanceof DeliveryError
          ? thrown
          : DeliveryError.retryable('network', `unexpected failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      const now = this.now();
      const wasClosed = breaker.state === 'closed';
      breaker.failed(error.reason, now);
      if (wasClosed && breaker.state === 'open') {
        this.deps.onBreakerOpened?.(delivery.destination, {
          failures: policy.breaker.failures,
          reason: error.reason,
          status: error.details.status ?? null,
          error: error.message,
          nextProbeInMs: breaker.msUntilProbe(now),
        });
      }
      const details = { status: error.details.status, excerpt: error.details.excerpt, reason: error.reason };
      if (probe && error.retryable && breaker.state === 'open' && now + breaker.msUntilProbe(now) - windowStart(delivery) <= policy.maxAgeMs) {
        // A failed probe waits for the breaker like the rest, and spends none of the schedule.
        verdict = { status: 'pending', nextAttemptAt: now + breaker.msUntilProbe(now) };
        attempt = this.attempt(delivery, number, startedAt, 'probe', { ...details, error: `${error.message}; the destination stays paused` });
      } else {
        const scheduled = 1 + (await this.scheduledAttemptsOf(delivery));
        const decided = verdictAfterFailure(delivery, scheduled, error, policy, now, this.deps.random);
        verdict = decided.verdict;
        attempt = this.attempt(delivery, number, startedAt, verdict.status === 'dead' ? 'dead' : 'retry', {
          ...details,
          error: decided.note ? `${error.message}; ${decided.note}` : error.message,
        });
      }
    }
    this.deps.metrics?.attempts.inc({ destination: delivery.destination, outcome: attempt.outcome });
    this.deps.metrics?.attemptSeconds.observe({ destination: delivery.destination }, attempt.durationMs / 1000);
    log.info(
      {
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        destination: delivery.destination,
        attempt: number,
        outcome: attempt.outcome,
        status: attempt.status,
        reason: attempt.reason,
        ms: attempt.durationMs,
      },
      'delivery attempt',
    );
    try {
      await store.completeAttempt(claimant, attempt, verdict);
      this.progress.progressed();
    } catch (error) {
      // The claim expires and the delivery is tried again: at least once, never lost.
      log.error({ deliveryId: delivery.id, err: error instanceof Error ? error.message : String(error) }, 'could not record an attempt');
    }
  }

  /**
   * The attempts so far that count against the retry schedule: not failed
   * probes, and none made before the delivery's last manual retry.
   */
  private async scheduledAttemptsOf(delivery: Delivery): Promise<number> {
    if (delivery.attempts === 0) return 0;
    const { retriedAt } = delivery;
    return (await this.deps.store.listAttempts(delivery.id)).filter((a) => a.outcome !== 'probe' && (retriedAt === null || a.startedAt >= retriedAt)).length;
  }

  private attempt(
    delivery: Delivery,
    number: number,
    startedAt: number,
    outcome: Attempt['outcome'],
    details: { status?: number; excerpt?: string; reason?: Attempt['reason']; error?: string },
  ): Attempt {
    return {
      deliveryId: delivery.id,
      attempt: number,
      startedAt,
      durationMs: this.now() - startedAt,
      outcome,
      status: details.status ?? null,
      reason: details.reason ?? null,
      error: details.error ?? null,
      // Already cut to EXCERPT_CHARS at the channel boundary (channels/attempt-guard.ts).
      responseExcerpt: details.excerpt ?? null,
    };
  }
}
