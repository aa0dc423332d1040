/**
 * A token bucket: `count` messages per `perMs`, in bursts of at most `count`
 * per second's worth (so "1/s" is strictly one a second, as Slack asks:
 * https://api.slack.com/docs/rate-limits#incoming-webhooks).
 */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;
  private readonly msPerToken: number;

  constructor(count: number, perMs: number, now: number) {
    this.msPerToken = perMs / count;
    this.capacity = Math.max(1, Math.floor(1000 / this.msPerToken));
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.refill(now);
    return Math.floor(this.tokens);
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** Milliseconds until the next whole token. */
  msUntilNext(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.msPerToken);
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) / this.msPerToken);
    this.updatedAt = now;
  }
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Parses a config rate such as `1/s` or `30/m`. */
export function parseRate(text: string): { count: number; perMs: number } {
  const match = /^([0-9]+)\/(s|m|h)$/.exec(text);
  if (!match || Number(match[1]) === 0) throw new TypeError(`"${text}" is not a rate: write a count, "/" and a unit (s, m, h), e.g. "1/s"`);
  return { count: Number(match[1]), perMs: UNIT_MS[match[2] as keyof typeof UNIT_MS] };
}
