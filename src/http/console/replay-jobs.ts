/**
 * Replays started from the console, run in the background a page at a time
 * (pipeline/operator-actions.ts replayRange, each page audited) while the
 * page that started one polls its progress. Kept in memory: a restart stops
 * a replay between two pages, and what it replayed stays replayed.
 */
import { newToken } from './sessions.js';
import type { ReplayPage, ReplayPageRequest } from '../../pipeline/operator/replay.js';

export interface ReplayJob {
  id: string;
  user: string;
  request: ReplayPageRequest;
  /** Events in the range (counted on the first page), once known. */
  total: number | null;
  events: number;
  deliveries: number;
  byRule: Record<string, number>;
  /** Events added to batches (rules with group, digest or throttle), and by rule. */
  batched: number;
  batchedByRule: Record<string, number>;
  /** Events not routed yet, left to routing. */
  notRouted: number;
  /** With refreshSession: the sessions fetched again so far, and how many could not be. */
  sessions: { refreshed: number; failed: number } | null;
  done: boolean;
  error: string | null;
}

/** Jobs kept for their progress page; the oldest finished ones go first. */
const MAX_JOBS = 50;

export class ReplayJobs {
  private readonly jobs = new Map<string, ReplayJob>();

  /** Starts replaying the range with `replayPage` (one call per page) and returns the job at once. */
  start(user: string, request: ReplayPageRequest, replayPage: (request: ReplayPageRequest) => Promise<ReplayPage>): ReplayJob {
    const job: ReplayJob = {
      id: newToken().slice(0, 16),
      user,
      request,
      total: null,
      events: 0,
      deliveries: 0,
      byRule: {},
      batched: 0,
      batchedByRule: {},
      notRouted: 0,
      sessions: request.refreshSession ? { refreshed: 0, failed: 0 } : null,
      done: false,
      error: null,
    };
    this.jobs.set(job.id, job);
    this.trim();
    void (async () => {
      let after: string | undefined;
      try {
        do {
          const page = await replayPage({ ...request, dryRun: false, after });
          if (page.total !== undefined) job.total = page.total;
          job.events += page.events;
          job.deliveries += page.deliveries;
          for (const [rule, n] of Object.entries(page.byRule)) job.byRule[rule] = (job.byRule[rule] ?? 0) + n;
          job.batched += page.batched;
          job.notRouted += page.notRouted;
          for (const [rule, n] of Object.entries(page.batchedByRule)) job.batchedByRule[rule] = (job.batchedByRule[rule] ?? 0) + n;
          if (job.sessions && page.sessions) {
            job.sessions.refreshed += page.sessions.refreshed;
            job.sessions.failed += page.sessions.failed.length;
          }
          after = page.nextCursor ?? undefined;
        } while (after !== undefined);
      } catch (error) {
        job.error = error instanceof Error ? error.message : String(error);
      } finally {
        job.done = true;
      }
    })();
    return job;
  }

  get(id: string): ReplayJob | undefined {
    return this.jobs.get(id);
  }

  private trim(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= MAX_JOBS) return;
      if (job.done) this.jobs.delete(id);
    }
  }
}
