/**
 * The heartbeat of a stage: runs `work` again at once while it reports more to
 * do, else sleeps until woken (new work was handed over) or until the delay it
 * asked for has passed. One run at a time; stop() waits for the current run.
 */
export type WorkResult = { again: true } | { again: false; sleepMs: number };

export class WorkerLoop {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private wakeRequested = false;
  private stopped = true;

  constructor(
    private readonly work: () => Promise<WorkResult>,
    private readonly onError: (error: unknown) => void,
    /** Sleep after an error, so a broken store is retried without spinning. */
    private readonly errorBackoffMs = 1000,
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  /** Runs the work soon; if it is running now, runs it once more right after. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeRequested = true;
      return;
    }
    this.cancelTimer();
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.running;
  }

  private cancelTimer(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = this.immediate = undefined;
  }

  private async runOnce(): Promise<void> {
    let result: WorkResult;
    try {
      result = await this.work();
    } catch (error) {
      this.onError(error);
      result = { again: false, sleepMs: this.errorBackoffMs };
    }
    if (this.stopped) return;
    const delay = result.again || this.wakeRequested ? 0 : Math.max(0, result.sleepMs);
    this.wakeRequested = false;
    const next = () => {
      this.timer = this.immediate = undefined;
      this.wake();
    };
    // Not setTimeout(0): that waits at least a millisecond, in every stage an event passes through.
    if (delay === 0) this.immediate = setImmediate(next);
    else this.timer = setTimeout(next, delay);
  }
}
