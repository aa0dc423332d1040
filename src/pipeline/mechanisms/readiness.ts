/**
 * Readiness: herald is ready when the store takes a write and no stage is
 * stalled (has work, and made no progress for its bound). /readyz shows
 * anonymous callers only the verdict; the report with its reasons (a store
 * error may name a file) is for the admin API (GET /api/health).
 */
import type { Store } from '../../store/store.js';
import type { StageProgress } from './stage-progress.js';

export interface WatchedStage {
  name: string;
  progress: StageProgress;
  /** How long it may have work without progress before herald is not ready. */
  stallMs: number;
}

export interface StageReport {
  name: string;
  hasWork: boolean;
  /** How long nothing moved (ms): since its last progress, or since it last had nothing to do. */
  stillForMs: number;
  stalled: boolean;
}

export interface ReadinessReport {
  ready: boolean;
  store: { writable: true } | { writable: false; error: string };
  stages: StageReport[];
}

export class Readiness {
  constructor(
    private readonly store: Store,
    /** The stages this process runs (a function: read at each check). */
    private readonly stages: () => WatchedStage[],
    private readonly now: () => number = Date.now,
  ) {}

  async check(): Promise<ReadinessReport> {
    let store: ReadinessReport['store'] = { writable: true };
    try {
      await this.store.ping();
    } catch (error) {
      store = { writable: false, error: error instanceof Error ? error.message : String(error) };
    }
    const now = this.now();
    const stages = this.stages().map(({ name, progress, stallMs }) => {
      const { hasWork, stillSince } = progress.status();
      const stillForMs = Math.max(0, now - stillSince);
      return { name, hasWork, stillForMs, stalled: hasWork && stillForMs > stallMs };
    });
    return { ready: store.writable && !stages.some((s) => s.stalled), store, stages };
  }
}
