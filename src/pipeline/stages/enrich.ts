/**
 * The enrich stage: before an event of a listed type is routed, herald asks
 * its provider's API for what the webhook leaves out. FaceSign's
 * `session.status` does not say which status (docs/providers.md, "FaceSign session API"), so the
 * session is fetched from `GET <api.url>/sessions/<sessionId>` and stored
 * with the event as `event.session`, for rules and templates.
 *
 * Enrichment is a durable step of its own: ingest stores such an event with a
 * due time (enrichDueAtMs), the route stage does not see it until it is
 * enriched, and this stage leases due events, calls the API and stores the
 * enriched event, or the next try's due time. So a slow or unavailable API
 * holds back only the events waiting for it, a restart loses nothing, and a
 * replay reuses what was stored. Tries are retried with backoff (and the
 * API's Retry-After) on 429, 5xx and network errors until `giveUpAfter` after
 * the event was received; then, or at once on any other failure, the event is
 * routed with `event.session: null` and `event.enrichment.error` saying why.
 *
 * The same durable step archives media events' files (media-archive.ts):
 * an event may wait for its session, its media archive, or both; each step is
 * done once (a step done is stored with the event while the other retries),
 * and each has its own bound (the media's: its URL's `expires`).
 */
import type { MediaConfig, SessionApiConfig, SourceConfig } from '../../core/config.js';
import { EnrichmentError, MediaArchiveError } from '../../core/errors.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { Logger } from '../../core/log.js';
import { ownValue } from '../../core/own.js';
import { sessionStatusOutcome } from '../../providers/facesign.js';
import { glob } from '../../routing/json-logic.js';
import type { EnrichmentClaim, Store } from '../../store/store.js';
import { archivesMedia, isMediaEvent, mediaExpiresAt, withArchive, type MediaArchiver } from './media-archive.js';
import { SessionLookups, type SessionFetcher } from './session-lookup.js';
import { WorkerLoop, type WorkResult } from '../mechanisms/worker-loop.js';

/** Whether a source enriches events of this type before routing them. */
export function enrichesType(source: SourceConfig, type: string): boolean {
  return source.api !== undefined && source.api.enrich.some((pattern) => glob(type, pattern));
}

/**
 * How long after an event is received its session is first fetched. FaceSign
 * sends a session's webhooks in bursts (a status change, its analyses), and an
 * answer is reused only by events received before it was fetched (an older
 * answer may predate the change the event reports): waiting a moment lets the
 * whole burst share one call.
 */
export const ENRICH_SETTLE_MS = 2000;

/**
 * When an event received at `receivedAtMs` is first due for enrichment, or
 * undefined when it waits for nothing: a media file to archive is due at once
 * (its URL expires soon), a session after the settling time.
 */
export function enrichmentDueAt(source: SourceConfig, event: NormalizedEvent, receivedAtMs: number, media?: MediaConfig): number | undefined {
  if (archivesMedia(media, event)) return receivedAtMs;
  return enrichesType(source, event.type) ? receivedAtMs + ENRICH_SETTLE_MS : undefined;
}

/** What one step of an enrichment try led to; undefined: the step had nothing to do. */
type StepResult = { event: NormalizedEvent } | { retryAt: number } | undefined;

/** The wait before try n+1 after n tries: 1 s, 2 s, 4 s ... at most a minute. */
export function enrichmentBackoffMs(attempts: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attempts - 1), 60_000);
}

export interface EnrichDeps {
  store: Store;
  /** The configured sources; a function, so a config reload swaps them. */
  sources: () => Record<string, SourceConfig>;
  /** Builds the API client of a source (channels/session-api.ts). */
  fetcher: (api: SessionApiConfig) => SessionFetcher;
  log: Logger;
  now?: () => number;
  /** Called after events became routable: wakes the route stage. */
  onEnriched?: () => void;
  batchSize?: number;
  /** How often to look for due tries when nobody wakes the stage (retries, other processes' events). */
  pollMs?: number;
  /** How long a claimed event is this process's before another may try it (beyond the API's time-out). */
  leaseMs?: number;
  /** The media archive, when configured (media-archive.ts). */
  archiver?: MediaArchiver;
}

export class EnrichStage {
  private readonly loop: WorkerLoop;
  private readonly now: () => number;
  /** Each source's session lookup: shared with a replay that fetches sessions again (operator/session-refresh.ts). */
  readonly lookups: SessionLookups;

  constructor(private readonly deps: EnrichDeps) {
    this.now = deps.now ?? Date.now;
    this.lookups = new SessionLookups(deps.fetcher, this.now);
    this.loop = new WorkerLoop(
      () => this.enrichBatch(),
      (error) => deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'enrichment failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
  }

  /** New events were stored. */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await this.lookups.close();
  }

  /** Tries the due events once; returns how many it tried. */
  async enrichOnce(): Promise<number> {
    const leaseMs = this.deps.leaseMs ?? 60_000;
    const claims = await this.deps.store.claimEventsToEnrich({ limit: this.deps.batchSize ?? 100, leaseMs, now: this.now() });
    const finished = await Promise.all(claims.map((claim) => this.enrich(claim)));
    if (finished.some(Boolean)) this.deps.onEnriched?.();
    return claims.length;
  }

  /** One try at one event: each step it still waits for; true when the event is now routable. */
  private async enrich({ event, attempts }: EnrichmentClaim): Promise<boolean> {
    const source = ownValue(this.deps.sources(), event.source);
    let current = event;
    let progressed = false;
    let retryAt = Infinity;
    for (const step of [() => this.sessionStep(current, source, attempts), () => this.mediaStep(current, attempts)]) {
      const result = await step();
      if (result === undefined) continue;
      if ('retryAt' in result) retryAt = Math.min(retryAt, result.retryAt);
      else [current, progressed] = [result.event, true];
    }
    if (retryAt !== Infinity) {
      await this.deps.store.completeEnrichment(event.id, { retryAt, ...(progressed && { event: current }) });
      return false;
    }
    await this.deps.store.completeEnrichment(event.id, { event: current });
    return true;
  }

  /** The session, unless the event has it (or why not) already, or is a media event its source does not enrich. */
  private async sessionStep(event: NormalizedEvent, source: SourceConfig | undefined, attempts: number): Promise<StepResult> {
    if (event.enrichment !== undefined || (isMediaEvent(event) && !(source && enrichesType(source, event.type)))) return undefined;
    const { log } = this.deps;
    const api = source?.api;
    if (!api || event.subject === null) {
      const why = api ? 'the event names no session' : `source "${event.source}" has no api section (any more)`;
      return { event: enriched(event, attempts, null, null, why) };
    }
    const receivedAt = Date.parse(event.receivedAt);
    try {
      const { session, fetchedAt } = await this.lookups.of(source.name, api).session(event.subject, receivedAt, this.now());
      log.debug({ eventId: event.id, source: event.source, attempts }, 'event enriched');
      return { event: enriched(event, attempts, session, fetchedAt, null) };
    } catch (error) {
      if (!(error instanceof EnrichmentError)) throw error;
      const now = this.now();
      const { retryAfterMs = 0, heldBack = false } = error.details;
      const retryAt = now + (heldBack ? retryAfterMs : Math.max(retryAfterMs, enrichmentBackoffMs(attempts)));
      if (error.retryable && retryAt <= receivedAt + api.giveUpAfterMs) {
        // Held back by herald's own limit is the normal course of a burst, not a failure.
        (heldBack ? log.debug : log.warn).call(
          log,
          { eventId: event.id, source: event.source, attempts, err: error.message, retryAt: new Date(retryAt).toISOString() },
          'enrichment failed; will retry',
        );
        return { retryAt };
      }
      log.warn({ eventId: event.id, source: event.source, attempts, err: error.message }, 'enrichment gave up; the event is routed without its session');
      return { event: enriched(event, attempts, null, null, error.message) };
    }
  }

  /** The media archive, unless there is none, or the event's file was archived (or given up on) already. */
  private async mediaStep(event: NormalizedEvent, attempts: number): Promise<StepResult> {
    const { archiver, log } = this.deps;
    if (!archiver || !isMediaEvent(event) || event.media!.archived !== undefined) return undefined;
    const expiresAt = mediaExpiresAt(event);
    const expiry = new Date(expiresAt).toISOString();
    const giveUp = (why: string) => {
      log.warn({ eventId: event.id, source: event.source, attempts, err: why }, 'media archive gave up; the event is routed with the original link');
      return { event: withArchive(event, null, why) };
    };
    if (this.now() >= expiresAt) return giveUp(`the media URL expired at ${expiry}, before herald could download it`);
    try {
      const archived = await archiver.archive(event, this.now());
      log.debug({ eventId: event.id, bytes: archived.bytes, contentType: archived.contentType }, 'media archived');
      return { event: withArchive(event, archived, null) };
    } catch (error) {
      if (!(error instanceof MediaArchiveError)) throw error;
      if (!error.retryable) return giveUp(error.message);
      const retryAt = this.now() + Math.max(error.details.retryAfterMs ?? 0, enrichmentBackoffMs(attempts));
      if (retryAt >= expiresAt) return giveUp(`the media URL expired at ${expiry} before the download succeeded (last try: ${error.message})`);
      log.warn({ eventId: event.id, attempts, err: error.message, retryAt: new Date(retryAt).toISOString() }, 'media download failed; will retry');
      return { retryAt };
    }
  }

  private async enrichBatch(): Promise<WorkResult> {
    const tried = await this.enrichOnce();
    return tried === (this.deps.batchSize ?? 100) ? { again: true } : { again: false, sleepMs: this.deps.pollMs ?? 1000 };
  }
}

/**
 * The event as it is routed: with the session (or null and why), and for
 * session.status the outcome the session's status gives. Also what `herald
 * rules test --session` and the samples show.
 */
export function enriched(
  event: NormalizedEvent,
  attempts: number,
  session: Record<string, unknown> | null,
  fetchedAt: number | null,
  error: string | null,
): NormalizedEvent {
  const status = session !== null && Object.hasOwn(session, 'status') ? session.status : undefined;
  return {
    ...event,
    outcome: event.provider === 'facesign' && event.type === 'session.status' && session !== null ? sessionStatusOutcome(status) : event.outcome,
    session,
    enrichment: { fetchedAt: fetchedAt === null ? null : new Date(fetchedAt).toISOString(), attempts, error },
  };
}
