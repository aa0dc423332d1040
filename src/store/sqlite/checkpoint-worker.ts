/**
 * The checkpoint thread's entry (checkpointer.ts starts it): every few
 * milliseconds, takes the write gate and checkpoints the WAL. It has no event
 * loop to keep turning, so it waits by blocking (Atomics.wait), and stops
 * when the stop cell changes.
 */
import Database from 'better-sqlite3';
import { workerData } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpointer.js';
import { CHECKPOINT_THREAD, WriteGate } from './write-gate.js';

const data = workerData as CheckpointWorkerData;
const stop = new Int32Array(data.stop);
const gate = new WriteGate(data.gate, CHECKPOINT_THREAD);
const db = new Database(data.file, { fileMustExist: true });

try {
  // 'timed-out' each period; 'ok' or 'not-equal' once asked to stop.
  while (Atomics.wait(stop, 0, 0, data.everyMs) === 'timed-out') {
    gate.acquireBlocking();
    try {
      // PASSIVE waits for nobody: with the gate held no commit of this process runs, so it copies every page.
      // Another process writing (a CLI command) only makes it copy fewer: the next turn copies the rest.
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A full disk or an I/O error: the pages stay in the WAL and nothing is lost; the next turn tries again.
      // The failure is the commits' to report (503, readiness), and they meet it too.
    } finally {
      gate.release();
    }
  }
} finally {
  db.close();
}
