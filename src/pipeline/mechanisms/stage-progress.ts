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
  /** [hasWork (0 or 1), stillSince]: in shared memory when another thread reads it (pipeline/deliver-thread.ts). */
  private readonly cells: Float64Array;

  constructor(
    private readonly now: () => number = Date.now,
    /** Shared with the thread that runs the stage; a fresh buffer starts the status. */
    shared?: SharedArrayBuffer,
  ) {
    this.cells = new Float64Array(shared ?? new ArrayBuffer(16));
    if (!shared) this.cells[1] = now();
  }

  /** A buffer for a status two threads share: the stage writes it, the other reads it. */
  static sharedBuffer(now: number = Date.now()): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer(16);
    new Float64Array(buffer)[1] = now;
    return buffer;
  }

  /** Looked, and found nothing to do. */
  idle(): void {
    this.cells[0] = 0;
    this.cells[1] = this.now();
  }

  /** Has work waiting (or a pass failed); progress, if any, is reported with progressed(). */
  working(): void {
    this.cells[0] = 1;
  }

  /** Moved some work on: routed events, recorded an attempt. */
  progressed(): void {
    this.cells[1] = this.now();
  }

  status(): StageStatus {
    return { hasWork: this.cells[0] === 1, stillSince: this.cells[1]! };
  }
}
