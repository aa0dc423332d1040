/**
 * One writer at a time among the SQLite connections of one process.
 *
 * With the deliver stage on a thread of its own (pipeline/deliver-thread.ts),
 * two connections of one process write to the same file. SQLite lets one of
 * them hold the write lock at a time, and the other's BEGIN IMMEDIATE waits
 * in SQLite's busy handler: sleeps of 1, 2, 5, 10 ms on the calling thread,
 * which for the ingest thread is the event loop. This gate is a lock in
 * shared memory, taken around each group commit: the other thread waits
 * without blocking its event loop (Atomics.waitAsync) and goes on the moment
 * the lock is free, not a sleep later. SQLite's own lock still decides, so a
 * writer outside the gate (a CLI command) is waited for as before.
 */

/** Atomics.waitAsync (Node 16 and later; TypeScript types it from lib es2024 on). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(cell: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** The cell holds FREE, or the number of the thread holding the gate. */
const FREE = 0;
/** The main thread's number; the deliver thread's is DELIVER_THREAD, the checkpoint thread's CHECKPOINT_THREAD. */
export const MAIN_THREAD = 1;
export const DELIVER_THREAD = 2;
export const CHECKPOINT_THREAD = 3;

export class WriteGate {
  private readonly cell: Int32Array;

  /** A new gate, or one over `shared` (another thread's gate); `holder` is this thread's number. */
  constructor(
    shared: SharedArrayBuffer = new SharedArrayBuffer(4),
    private readonly holder = MAIN_THREAD,
  ) {
    this.cell = new Int32Array(shared);
  }

  /** What another thread passes to `new WriteGate(...)` to share this gate. */
  get shared(): SharedArrayBuffer {
    return this.cell.buffer as SharedArrayBuffer;
  }

  /** Takes the gate if it is free; true when taken. */
  tryAcquire(): boolean {
    return Atomics.compareExchange(this.cell, 0, FREE, this.holder) === FREE;
  }

  /** Resolves once the gate looks free (then tryAcquire() again: another may be first). */
  async free(): Promise<void> {
    const holder = Atomics.load(this.cell, 0);
    if (holder === FREE) return;
    const waiting = waitAsync(this.cell, 0, holder);
    if (waiting.async) await waiting.value;
  }

  /** Takes the gate, blocking this thread until it is free: for a thread with no event loop to keep turning (the checkpoint thread). */
  acquireBlocking(): void {
    while (!this.tryAcquire()) {
      const holder = Atomics.load(this.cell, 0);
      if (holder !== FREE) Atomics.wait(this.cell, 0, holder);
    }
  }

  release(): void {
    Atomics.store(this.cell, 0, FREE);
    Atomics.notify(this.cell, 0);
  }

  /**
   * Frees the gate if thread `holder` holds it: that thread is gone (a thread
   * stopped by force in the middle of a commit never released it).
   */
  releaseIfHeldBy(holder: number): void {
    if (Atomics.compareExchange(this.cell, 0, holder, FREE) === holder) Atomics.notify(this.cell, 0);
  }
}
