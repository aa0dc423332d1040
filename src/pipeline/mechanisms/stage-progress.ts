/**
 * Whether a stage moves: it reports when it found nothing to do, when it made
 * progress, and when it has work it could not finish (a failed pass counts as
 * such). A stage that has work and made no progress for a while is stalled:
 * /readyz then answers 503 (see readiness.ts).
 */
export interface StageStatus {
  /** The stage had work waiting when it last looked (or its last pass failed). */
  hasWork: boolean;
  /** Since when (ms) nothing moved: the last progress, or the last time it had nothing to do. */
  stillSince: number;
}

export class StageProgress {
  private hasWork = false;
  private stillSince: number;

  constructor(private readonly now: () => number = Date.now) {
    this.stillSince = now();
  }

  /** Looked, and found nothing to do. */
  idle(): void {
    this.hasWork = false;
    this.stillSince = this.now();
  }

  /** Has work waiting (or a pass failed); progress, if any, is reported with progressed(). */
  working(): void {
    this.hasWork = true;
  }

  /** Moved some work on: routed events, recorded an attempt. */
  progressed(): void {
    this.stillSince = this.now();
  }

  status(): StageStatus {
    return { hasWork: this.hasWork, stillSince: this.stillSince };
  }
}
