/**
 * Shares round trips between concurrent writes: items queued during one turn
 * of the event loop go to the database as one batch (one statement, one
 * transaction). A few batches may be in flight at once; when that many are,
 * new items wait and join the next batch, so under load the batches grow
 * instead of the pool's queue.
 *
 * One item never fails the others: when a batch fails in a way one of its
 * items may have caused (`itemMayCause`: a constraint or a value the database
 * refuses, not a lost connection), each half is written again on its own,
 * down to the item at fault, which alone gets the error. One bad item in a
 * batch of n costs about 2 log2(n) more statements; a store that is down
 * fails the batch once, as before.
 */
interface Pending<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (error: unknown) => void;
}

type Outcome<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export class WriteBatcher<In, Out> {
  private queue: Array<Pending<In, Out>> = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly idle = new Set<() => void>();

  constructor(
    /** Writes a batch; resolves with one result per item, in order. */
    private readonly write: (items: In[]) => Promise<Out[]>,
    /** Whether a failed batch may owe the failure to one of its items (then its halves are written apart). */
    private readonly itemMayCause: (error: unknown) => boolean = () => false,
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
      this.writeApart(batch.map((p) => p.item))
        .then((outcomes) =>
          batch.forEach((p, i) => {
            const outcome = outcomes[i]!;
            if (outcome.ok) p.resolve(outcome.value);
            else p.reject(outcome.error);
          }),
        )
        .finally(() => {
          this.inFlight--;
          this.schedule();
          if (this.queue.length === 0 && this.inFlight === 0) {
            for (const resolve of this.idle) resolve();
            this.idle.clear();
          }
        });
    }
  }

  /** Writes `items` as one batch; if an item may have failed it, each half apart, in order (the first of a repeated key stays first). */
  private async writeApart(items: In[]): Promise<Array<Outcome<Out>>> {
    try {
      return (await this.write(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (items.length === 1 || !this.itemMayCause(error)) return items.map(() => ({ ok: false, error }));
      const middle = Math.ceil(items.length / 2);
      return [...(await this.writeApart(items.slice(0, middle))), ...(await this.writeApart(items.slice(middle)))];
    }
  }
}
