/**
 * How one destination is delivered to: time-out, retry schedule, maximum age,
 * concurrency and rate, from its block in the config over the global `delivery`.
 */
import type { DestinationConfig, HeraldConfig } from '../../core/config.js';
import { DeliveryError } from '../../core/errors.js';
import { parseDuration } from '../../core/duration.js';
import type { Delivery } from '../../store/store.js';
import type { AttemptVerdict } from '../../store/store.js';
import { DEFAULT_BREAKER, type BreakerSettings } from './circuit-breaker.js';
import { parseRate } from './rate-limiter.js';

export interface DeliveryPolicy {
  timeoutMs: number;
  retryMs: number[];
  maxAgeMs: number;
  concurrency: number;
  rate?: { count: number; perMs: number };
  /** Destinations with the same key share one rate limit (Slack: per webhook URL). */
  rateKey: string;
  breaker: BreakerSettings;
}

const DEFAULT_CONCURRENCY = { slack: 1, email: 4, webhook: 16 } as const;
const DEFAULT_RATE: Partial<Record<DestinationConfig['type'], string>> = { slack: '1/s' };

/** Up to this share of a delay is added at random, so retries of many deliveries spread out. */
export const RETRY_JITTER = 0.1;

export function deliveryPolicy(destination: DestinationConfig, defaults: HeraldConfig['delivery']): DeliveryPolicy {
  const { options } = destination;
  const own = options.delivery ?? {};
  const rate = options.rate ?? DEFAULT_RATE[destination.type];
  return {
    timeoutMs: own.timeout ? parseDuration(own.timeout) : defaults.timeoutMs,
    retryMs: own.retry ? own.retry.map(parseDuration) : defaults.retryMs,
    maxAgeMs: own.maxAge ? parseDuration(own.maxAge) : defaults.maxAgeMs,
    concurrency: options.concurrency ?? DEFAULT_CONCURRENCY[destination.type],
    ...(rate && { rate: parseRate(rate) }),
    rateKey: destination.type === 'slack' ? `slack:${destination.options.url}` : `destination:${destination.name}`,
    breaker: {
      failures: options.breaker?.failures ?? DEFAULT_BREAKER.failures,
      probeMs: options.breaker?.probe?.map(parseDuration) ?? DEFAULT_BREAKER.probeMs,
    },
  };
}

/**
 * When a delivery's window opened: its maximum age and retry schedule count
 * from its creation, or from its last manual retry (a retry starts afresh).
 */
export function windowStart(delivery: Delivery): number {
  return delivery.retriedAt ?? delivery.createdAt;
}

/**
 * What follows a failed attempt: permanent failures are dead at once; retryable
 * ones wait the schedule's next delay plus jitter, and no less than Retry-After,
 * unless the schedule is used up or the delivery would pass its maximum age.
 */
export function verdictAfterFailure(
  delivery: Delivery,
  /** How many attempts of the schedule this one is (probes of an open breaker, and attempts before a retry, do not count). */
  attempt: number,
  error: DeliveryError,
  policy: DeliveryPolicy,
  now: number,
  random: () => number = Math.random,
): { verdict: AttemptVerdict; note?: string } {
  if (!error.retryable) return { verdict: { status: 'dead' } };
  const delay = policy.retryMs[attempt - 1];
  if (delay === undefined) return { verdict: { status: 'dead' }, note: `gave up after ${attempt} attempts` };
  const wait = Math.max(delay * (1 + RETRY_JITTER * random()), error.details.retryAfterMs ?? 0);
  const nextAttemptAt = Math.round(now + wait);
  if (nextAttemptAt - windowStart(delivery) > policy.maxAgeMs) {
    return { verdict: { status: 'dead' }, note: 'past the maximum age' };
  }
  return { verdict: { status: 'pending', nextAttemptAt } };
}
