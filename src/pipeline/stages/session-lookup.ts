/**
 * One FaceSign source's session API as the enrich stage uses it: a short
 * cache and one call per session in flight (a session's several webhooks,
 * sent within seconds, cost one call), a rate limit, and a pause when the API
 * answers 429 (for its Retry-After), so that no call is made that is sure to
 * be refused. The limits are per process.
 */
import type { SessionApiConfig } from '../../core/config.js';
import { EnrichmentError } from '../../core/errors.js';
import { RateLimiter, parseRate } from '../mechanisms/rate-limiter.js';

/** What fetches a session (channels/session-api.ts); throws EnrichmentError. */
export interface SessionFetcher {
  fetchSession(sessionId: string, now: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export interface FetchedSession {
  session: Record<string, unknown>;
  /** When the call that answered started (ms). */
  fetchedAt: number;
}

/** How long an answer is reused. */
export const SESSION_CACHE_MS = 10_000;
/** The pause after a 429 without a Retry-After. */
const RATE_LIMITED_PAUSE_MS = 1000;

export class SessionLookup {
  private readonly cache = new Map<string, FetchedSession>();
  /** Calls under way, by session, with when each started. */
  private readonly inFlight = new Map<string, { since: number; call: Promise<FetchedSession> }>();
  private readonly limiter: RateLimiter;
  private pausedUntil = 0;

  constructor(
    private readonly fetcher: SessionFetcher,
    rate: string,
    now: number,
  ) {
    const { count, perMs } = parseRate(rate);
    this.limiter = new RateLimiter(count, perMs, now);
  }

  /**
   * The session as it was at or after `receivedAt` (when herald received the
   * event): an answer fetched since then is reused, else a call is made. A
   * call the rate limit or a 429 pause holds back throws a retryable
   * EnrichmentError saying how long to wait.
   */
  async session(sessionId: string, receivedAt: number, now: number): Promise<FetchedSession> {
    this.forgetOld(now);
    const cached = this.cache.get(sessionId);
    if (cached && cached.fetchedAt >= receivedAt) return cached;
    const running = this.inFlight.get(sessionId);
    if (running && running.since >= receivedAt) return running.call;

    if (this.pausedUntil > now) {
      throw new EnrichmentError(true, 'held back: the FaceSign API answered 429 and asked herald to wait', {
        retryAfterMs: this.pausedUntil - now,
        heldBack: true,
      });
    }
    const wait = this.limiter.msUntilNext(now);
    if (wait > 0) throw new EnrichmentError(true, 'held back by the rate limit set for the FaceSign API (api.rate)', { retryAfterMs: wait, heldBack: true });
    this.limiter.take(now);
    const call = this.fetcher
      .fetchSession(sessionId, now)
      .then(
        (session) => {
          const answer = { session, fetchedAt: now };
          this.cache.delete(sessionId);
          this.cache.set(sessionId, answer);
          return answer;
        },
        (error: unknown) => {
          if (error instanceof EnrichmentError && error.details.status === 429) {
            this.pausedUntil = Math.max(this.pausedUntil, now + (error.details.retryAfterMs ?? RATE_LIMITED_PAUSE_MS));
          }
          throw error;
        },
      )
      .finally(() => {
        if (this.inFlight.get(sessionId)?.call === call) this.inFlight.delete(sessionId);
      });
    this.inFlight.set(sessionId, { since: now, call });
    return call;
  }

  close(): Promise<void> {
    return this.fetcher.close();
  }

  /** Entries are kept in the order fetched: drop the expired ones from the front. */
  private forgetOld(now: number): void {
    for (const [sessionId, answer] of this.cache) {
      if (now - answer.fetchedAt < SESSION_CACHE_MS) break;
      this.cache.delete(sessionId);
    }
  }
}

/**
 * Each source's lookup, with the API settings it was built for (a config
 * reload that changes them builds a new one). In a serving herald the enrich
 * stage and a replay that fetches sessions again share one, so they share its
 * rate limit and its pause after a 429.
 */
export class SessionLookups {
  private readonly lookups = new Map<string, { settings: string; lookup: SessionLookup }>();

  constructor(
    private readonly fetcher: (api: SessionApiConfig) => SessionFetcher,
    /** The clock of the lookups' rate limits. */
    readonly now: () => number,
  ) {}

  /** The lookup of the source named `sourceName`, whose api section is `api`. */
  of(sourceName: string, api: SessionApiConfig): SessionLookup {
    const settings = JSON.stringify(api);
    const known = this.lookups.get(sourceName);
    if (known?.settings === settings) return known.lookup;
    known?.lookup.close().catch(() => {}); // its calls in flight finish on their own
    const lookup = new SessionLookup(this.fetcher(api), api.rate, this.now());
    this.lookups.set(sourceName, { settings, lookup });
    return lookup;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.lookups.values()].map(({ lookup }) => lookup.close()));
    this.lookups.clear();
  }
}
