/**
 * The deliver stage: claims due deliveries per destination within its
 * concurrency and rate, sends each through its channel, records every attempt
 * and decides what follows (delivered, retry later, dead letter). The message
 * sent is the one rendered at routing time; nothing is re-rendered.
 */
import { DeliveryError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Channel } from '../channels/channel.js';
import type { Attempt, AttemptVerdict, Delivery, Store } from '../store/store.js';
import { verdictAfterFailure, type DeliveryPolicy } from './delivery-policy.js';
import { RateLimiter } from './rate-limiter.js';
import { WorkerLoop, type WorkResult } from './worker-loop.js';

export interface DeliverDeps {
  store: Store;
  /** By destination name. */
  channels: Record<string, Channel>;
  policies: Record<string, DeliveryPolicy>;
  log: Logger;
  /** This process's name on its claims. */
  claimant: string;
  now?: () => number;
  random?: () => number;
  /** Longest sleep between looks at the queue (other processes' work, expired claims). */
  pollMs?: number;
}

const MAX_CLAIM = 100;
const EXCERPT_CHARS = 500;

export class DeliverStage {
  private readonly loop: WorkerLoop;
  private readonly inFlight = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private readonly limiters = new Map<string, RateLimiter>();
  private readonly now: () => number;

  constructor(private readonly deps: DeliverDeps) {
    this.now = deps.now ?? Date.now;
    this.loop = new WorkerLoop(
      () => this.claimAndSend(),
      (error) => deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'delivery loop failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
  }

  /** New deliveries exist, or a slot was freed. */
  wake(): void {
    this.loop.wake();
  }

  /** Stops claiming and waits for the attempts in flight to finish and be recorded. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled([...this.sending]);
  }

  private async claimAndSend(): Promise<WorkResult> {
    const { store, policies, claimant } = this.deps;
    const pollMs = this.deps.pollMs ?? 1000;
    let sleepMs = pollMs;
    const open: string[] = [];
    for (const [destination, policy] of Object.entries(policies)) {
      const free = policy.concurrency - (this.inFlight.get(destination) ?? 0);
      if (free <= 0) continue; // a finishing attempt wakes the loop
      const limiter = this.limiter(policy);
      const now = this.now();
      const allowed = limiter ? Math.min(free, limiter.available(now)) : free;
      if (allowed <= 0) {
        sleepMs = Math.min(sleepMs, limiter!.msUntilNext(now));
        continue;
      }
      open.push(destination);
      const claimTtlMs = policy.timeoutMs * 2 + 30_000;
      const claimed = await store.claimDueDeliveries({ destination, limit: Math.min(allowed, MAX_CLAIM), claimant, claimTtlMs, now });
      for (const delivery of claimed) {
        limiter?.take(this.now());
        this.track(destination, this.send(delivery, policy));
      }
    }
    if (open.length > 0) {
      const due = await store.nextDueAt(open);
      if (due !== undefined) sleepMs = Math.min(sleepMs, due - this.now());
    }
    return { again: false, sleepMs };
  }

  private limiter(policy: DeliveryPolicy): RateLimiter | undefined {
    if (!policy.rate) return undefined;
    let limiter = this.limiters.get(policy.rateKey);
    if (!limiter) {
      limiter = new RateLimiter(policy.rate.count, policy.rate.perMs, this.now());
      this.limiters.set(policy.rateKey, limiter);
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
  private async send(delivery: Delivery, policy: DeliveryPolicy): Promise<void> {
    const { store, channels, log, claimant } = this.deps;
    const number = delivery.attempts + 1;
    const startedAt = this.now();
    let attempt: Attempt;
    let verdict: AttemptVerdict;
    try {
      const channel = channels[delivery.destination];
      if (!channel) throw new DeliveryError(true, 'client-error', `destination "${delivery.destination}" is not in the config`);
      const result = await channel.send(delivery.message!, {
        deliveryId: delivery.id,
        messageId: delivery.id,
        attempt: number,
        timeoutMs: policy.timeoutMs,
      });
      verdict = { status: 'delivered' };
      attempt = this.attempt(delivery, number, startedAt, 'delivered', { status: result.status, excerpt: result.excerpt });
    } catch (thrown) {
      const error = thrown instanceof DeliveryError
        ? thrown
        : new DeliveryError(true, 'network', `unexpected failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      const decided = verdictAfterFailure(delivery, number, error, policy, this.now(), this.deps.random);
      verdict = decided.verdict;
      attempt = this.attempt(delivery, number, startedAt, verdict.status === 'dead' ? 'dead' : 'retry', {
        status: error.details.status,
        excerpt: error.details.excerpt,
        reason: error.reason,
        error: decided.note ? `${error.message}; ${decided.note}` : error.message,
      });
    }
    log.info(
      { deliveryId: delivery.id, eventId: delivery.eventId, destination: delivery.destination, attempt: number,
        outcome: attempt.outcome, status: attempt.status, reason: attempt.reason, ms: attempt.durationMs },
      'delivery attempt',
    );
    try {
      await store.completeAttempt(claimant, attempt, verdict);
    } catch (error) {
      // The claim expires and the delivery is tried again: at least once, never lost.
      log.error({ deliveryId: delivery.id, err: error instanceof Error ? error.message : String(error) }, 'could not record an attempt');
    }
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
      responseExcerpt: details.excerpt?.slice(0, EXCERPT_CHARS) ?? null,
    };
  }
}
