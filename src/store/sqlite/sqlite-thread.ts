/**
 * The worker thread behind ThreadedSqliteStore: it owns the SqliteStore (the
 * database connection) and runs every Store call it is sent, in order of
 * arrival. Calls that arrive while a commit waits for the disk are queued by
 * the port and share the next commit (group commit keeps working).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StoreUnavailableError } from '../../core/errors.js';
import type { Store } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

/** A call from the main thread: Store method `method` with `args`. */
export interface StoreCall {
  id: number;
  method: keyof Store;
  args: unknown[];
}

/** An error as it crosses the thread boundary (structured clone keeps no class). */
export interface CarriedError {
  unavailable: boolean;
  message: string;
}

export type StoreReply = { id: number; value: unknown } | { id: number; error: CarriedError };

function carry(error: unknown): CarriedError {
  return { unavailable: error instanceof StoreUnavailableError, message: error instanceof Error ? error.message : String(error) };
}

if (parentPort) {
  const port = parentPort;
  let store: SqliteStore | undefined;
  // A store that cannot be opened answers every call with the reason, as the
  // constructor would have thrown it on the main thread.
  let openError: CarriedError | undefined;
  try {
    store = new SqliteStore((workerData as { file: string }).file);
  } catch (error) {
    openError = carry(error);
  }
  port.on('message', ({ id, method, args }: StoreCall) => {
    if (!store) return port.postMessage({ id, error: openError! } satisfies StoreReply);
    const run = store[method] as (...a: unknown[]) => Promise<unknown>;
    run.apply(store, args).then(
      (value) => port.postMessage({ id, value } satisfies StoreReply),
      (error: unknown) => port.postMessage({ id, error: carry(error) } satisfies StoreReply),
    );
  });
}
