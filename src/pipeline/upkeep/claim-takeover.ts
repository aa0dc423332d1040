/**
 * Takes over the work of dead processes sharing the store: once a second it
 * asks the store to give back the claims (deliveries being sent, events
 * reserved for routing) of processes that are gone, and wakes the stages when
 * there were any, so a killed process's work resumes within seconds instead of
 * when its claims expire. The store tells dead from slow (the PostgreSQL
 * store by its liveness locks); a store with one serving process has none.
 */
import type { Logger } from '../../core/log.js';
import type { Store } from '../../store/store.js';
import { WorkerLoop } from '../mechanisms/worker-loop.js';

export interface ClaimTakeoverDeps {
  store: Store;
  log: Logger;
  /** Called with how many claims were given back, when any were. */
  onReleased: (released: number) => void;
  everyMs?: number;
}

export class ClaimTakeover {
  private readonly loop: WorkerLoop;

  constructor(deps: ClaimTakeoverDeps) {
    const everyMs = deps.everyMs ?? 1000;
    this.loop = new WorkerLoop(
      async () => {
        const released = await deps.store.releaseClaimsOfDeadProcesses();
        if (released > 0) {
          deps.log.info({ released }, 'took over the claims of a herald process that is gone');
          deps.onReleased(released);
        }
        return { again: false, sleepMs: everyMs };
      },
      (error) => deps.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not look for the claims of dead processes; retrying'),
      everyMs,
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
