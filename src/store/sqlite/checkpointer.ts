/**
 * WAL checkpoints on a thread of their own, for the serving process.
 *
 * SQLite copies the WAL back into the database file (a checkpoint) inside the
 * COMMIT that takes the WAL past 1,000 pages: on the committing thread, which
 * for the ingest path is the event loop. Each one copies the pages and fsyncs
 * both files; measured on the benchmark's machine, that held the loop for
 * about 30 µs per stored event, a fifth of ingest's time (bench/RESULTS.md).
 * Here a small thread (checkpoint-worker.ts, with a connection of its own and
 * no event loop) checkpoints every CHECKPOINT_EVERY_MS instead. It takes the
 * process's WriteGate while it works, so no commit of this process adds pages
 * meanwhile: every page is copied, and the next commit starts the WAL again
 * from its beginning instead of making it longer. The threads that commit
 * wait for the gate without blocking their event loops, and their waiting
 * writes commit together afterwards.
 *
 * The connections that write keep an automatic checkpoint, at
 * FALLBACK_AUTOCHECKPOINT_PAGES, should the thread ever fall behind. A
 * checkpoint that fails (a full disk) loses nothing and is tried again; if the
 * thread itself stops, the serving connection goes back to SQLite's default,
 * as before this thread existed.
 * https://www.sqlite.org/wal.html#checkpointing
 */
import { Worker } from 'node:worker_threads';
import { CHECKPOINT_THREAD, type WriteGate } from './write-gate.js';

/** How often the thread checkpoints. */
export const CHECKPOINT_EVERY_MS = 100;
/** The writing connections' own automatic checkpoint while the thread works (pages of 4 KiB: 40 MB). */
export const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;
/** SQLite's default automatic checkpoint, for when the thread has stopped. */
export const DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

/** What the thread starts with. */
export interface CheckpointWorkerData {
  file: string;
  gate: SharedArrayBuffer;
  /** Holds 0 while the thread should go on; 1 asks it to stop. */
  stop: SharedArrayBuffer;
  everyMs: number;
}

export class Checkpointer {
  private readonly stopCell = new Int32Array(new SharedArrayBuffer(4));
  private readonly worker: Worker;
  private readonly exited: Promise<unknown>;

  /** Starts the thread for `file`; `onStopped` runs if it stops without being asked to (then nobody checkpoints but SQLite). */
  constructor(file: string, gate: WriteGate, onStopped: () => void, everyMs = CHECKPOINT_EVERY_MS) {
    const workerData: CheckpointWorkerData = { file, gate: gate.shared, stop: this.stopCell.buffer as SharedArrayBuffer, everyMs };
    // Beside this file in tsc's output; in the bundle, an entry point of its own in the same folder (scripts/bundle.mjs).
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData,
      // It allocates next to nothing: a small heap keeps the thread's memory to a few MB.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    // Not a reason to keep the process alive: close() stops it.
    this.worker.unref();
    // An error it could not go past (a bug: a failed checkpoint is tried again) ends the thread: the exit below says so.
    this.worker.on('error', () => {});
    // Not events.once(): it would reject on that 'error'.
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve)).then(() => {
      // Stopped by force mid-checkpoint, it would hold the gate forever, and nothing could commit again.
      gate.releaseIfHeldBy(CHECKPOINT_THREAD);
      if (Atomics.load(this.stopCell, 0) === 0) onStopped();
    });
  }

  /** Asks the thread to stop after the checkpoint it may be running; resolves once it has. */
  async stop(): Promise<void> {
    // Unreferenced, the thread alone would not keep the process up until it has stopped (Node would exit, code 13).
    this.worker.ref();
    Atomics.store(this.stopCell, 0, 1);
    Atomics.notify(this.stopCell, 0);
    await this.exited;
  }

  /** Stops the thread at once, as a crash would (tests). */
  async kill(): Promise<void> {
    this.worker.ref();
    await this.worker.terminate();
    await this.exited;
  }
}
