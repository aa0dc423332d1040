/**
 * Shares round trips between concurrent writes: items queued during one turn
 * of the event loop go to the database as one batch (one statement, one
 * transaction). A few batches may be in flight at once; when that many are,
 * new items wait and join the next batch, so under load the batches grow
 * instead of the pool's queue.
 */
interface Pending<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (error: unknown) => void;
}

export class WriteBatcher<In, Out> {
  private queue: Array<Pending<In, Out>> = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    /** Writes a batch; resolves with one result per item, in order. */
    private readonly write: (items: In[]) => Promise<Out[]>,
    private readonly maxBatch = 500,
    private readonly maxInFlight = 4,
  ) {}

  /** Queues `item` for the next batch; resolves with its result once the batch is committed. */
  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far is written (for close()). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.idle.add(resolve);
        this.schedule();
      });
    }
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.write(batch.map((p) => p.item)).then(
        (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      ).finally(() => {
        this.inFlight--;
        this.schedule();
        if (this.queue.length === 0 && this.inFlight === 0) {
          for (const resolve of this.idle) resolve();
          this.idle.clear();
        }
      });
    }
  }
}
