/**
 * A replay that asks FaceSign again (`refreshSession`; README, "FaceSign: the
 * session, fetched before routing"). A replay normally routes the session
 * stored with the event; asked to, it fetches the session of each replayed
 * event its source enriches (the enrich stage's test, enrich.ts
 * enrichesType) once per session, through the source's session lookup, so
 * its rate limit and its pause after a 429 are respected (in a serving
 * herald, shared with the enrich stage). A call the limit holds back waits
 * its turn; a call that fails is not retried: the events of that session are
 * replayed with what is stored, and the failure is reported.
 */
import type { SourceConfig } from '../../core/config.js';
import { EnrichmentError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import { ownValue } from '../../core/own.js';
import { enriched, enrichesType } from '../stages/enrich.js';
import type { FetchedSession, SessionLookups } from '../stages/session-lookup.js';

/** What a replay needs to fetch sessions again. */
export interface SessionRefresh {
  /** The configured sources (a function: a config reload swaps them). */
  sources: () => Record<string, SourceConfig>;
  /** Each source's session lookup, with its rate limit and clock. */
  lookups: SessionLookups;
  /** How a call the rate limit holds back waits its turn (default: a timer; tests step the lookups' clock instead). */
  sleep?: (ms: number) => Promise<void>;
}

/** The session of some replayed events, fetched again or not. */
export interface SessionRefreshResult {
  source: string;
  /** The session id (the events' subject); null for an event that names none. */
  sessionId: string | null;
  eventIds: string[];
  /** The events with the fresh session, by id; absent when the fetch failed. */
  events?: Map<string, NormalizedEvent>;
  /** Why the session could not be fetched (never the API key: channels/session-api.ts). */
  error?: string;
}

/** Sessions fetched at once, at most: the rate limit paces them anyway; this bounds the waits in flight. */
const CONCURRENT_FETCHES = 4;
/** A fetch the rate limit keeps holding back this long is given up (a limit far below the replay's needs). */
const MAX_HELD_BACK_MS = 60_000;

/**
 * Fetches again the session of each event its source enriches, once per
 * session; events of other sources and types are not in the result.
 */
export async function refreshSessions(events: readonly NormalizedEvent[], refresh: SessionRefresh): Promise<SessionRefreshResult[]> {
  const sources = refresh.sources();
  // Answers fetched from now on are fresh: one for a session already asked for by the enrich stage meanwhile is reused.
  const startedAt = refresh.lookups.now();
  const bySession = new Map<string, { source: SourceConfig; sessionId: string | null; events: NormalizedEvent[] }>();
  for (const event of events) {
    const source = ownValue(sources, event.source);
    if (!source || !enrichesType(source, event.type)) continue;
    // An event without a session id is a session of its own: nothing to share.
    const key = event.subject === null ? `${event.source}\n\n${event.id}` : `${event.source}\n${event.subject}`;
    const known = bySession.get(key);
    if (known) known.events.push(event);
    else bySession.set(key, { source, sessionId: event.subject, events: [event] });
  }
  const queue = [...bySession.values()];
  const results: SessionRefreshResult[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const { source, sessionId, events: ofSession } = next;
      const result: SessionRefreshResult = { source: source.name, sessionId, eventIds: ofSession.map((e) => e.id) };
      const fetched = sessionId === null ? 'the event names no session' : await fetchAgain(refresh, source, sessionId, startedAt);
      if (typeof fetched === 'string') result.error = fetched;
      else result.events = new Map(ofSession.map((e) => [e.id, enriched(e, (e.enrichment?.attempts ?? 0) + 1, fetched.session, fetched.fetchedAt, null)]));
      results.push(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_FETCHES, queue.length) }, worker));
  // In the order of the events, not of the answers.
  return results.sort((x, y) => (x.eventIds[0]! < y.eventIds[0]! ? -1 : 1));
}

/** The session as fetched at or after `startedAt`, or why it could not be. */
async function fetchAgain(refresh: SessionRefresh, source: SourceConfig, sessionId: string, startedAt: number): Promise<FetchedSession | string> {
  const { lookups, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) } = refresh;
  const lookup = lookups.of(source.name, source.api!);
  let heldBackMs = 0;
  for (;;) {
    try {
      return await lookup.session(sessionId, startedAt, lookups.now());
    } catch (error) {
      if (!(error instanceof EnrichmentError)) throw error;
      const { heldBack = false, retryAfterMs = 0 } = error.details;
      if (!heldBack) return error.message;
      if (heldBackMs + retryAfterMs > MAX_HELD_BACK_MS) return `${error.message}, for more than ${MAX_HELD_BACK_MS / 1000} s`;
      heldBackMs += retryAfterMs;
      await sleep(Math.max(1, retryAfterMs));
    }
  }
}
