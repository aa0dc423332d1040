/**
 * Replays started from the console, run in the background a page at a time
 * (pipeline/operator-actions.ts replayRange, each page audited) while the
 * page that started one polls its progress. Kept in memory: a restart stops
 * a replay between two pages, and what it replayed stays replayed.
 */
import { newToken } from './sessions.js';
import type { ReplayPage, ReplayPageRequest } from '../../pipeline/operator/replay.js';
import { addReplayPage, emptyReplayTotals, type ReplayTotals } from '../../pipeline/operator/replay-totals.js';

/** A replay running or done, with its totals so far. */
export interface ReplayJob extends ReplayTotals {
  id: string;
  user: string;
  request: ReplayPageRequest;
  /** Events in the range (counted on the first page), once known. */
  total: number | null;
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
      ...emptyReplayTotals(request.refreshSession === true),
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
          addReplayPage(job, page);
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
