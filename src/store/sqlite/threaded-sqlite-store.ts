/**
 * The SQLite store as `herald serve` runs it: the same SqliteStore, in a
 * worker thread of its own (sqlite-thread.ts), so that neither its statements
 * nor the wait for the disk at each durable commit (an fsync: 0.5 to 3 ms on
 * the benchmark's machine) ever blocks the event loop that answers providers
 * and sends deliveries. better-sqlite3 is synchronous; run on the main thread
 * it held the loop for a third of the time at 1,000 events/s (the benchmark's
 * profile, bench/RESULTS.md). Calls are messages; every reply comes after the
 * commit, so an event is still acknowledged only once it is on disk.
 */
import { Worker } from 'node:worker_threads';
import type { NormalizedEvent } from '../../core/event.js';
import { StoreUnavailableError } from '../../core/errors.js';
import type {
  AddedDeliveries, Attempt, AttemptVerdict, ClaimRequest, DeadLetterFilter, Delivery, DeliveryFilter, EventFilter, EventRecord,
  EventRouting, InsertResult, NewEvent, QueueSnapshot, Store,
} from '../store.js';
import type { CarriedError, StoreCall, StoreReply } from './sqlite-thread.js';

export class ThreadedSqliteStore implements Store {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Set once the thread is gone (closed, or crashed): every later call fails with it. */
  private gone: StoreUnavailableError | undefined;

  /** `file` is a path, or `:memory:` for tests. */
  constructor(file: string) {
    this.worker = new Worker(new URL('./sqlite-thread.js', import.meta.url), { workerData: { file } });
    this.worker.on('message', (reply: StoreReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(new StoreUnavailableError(error)));
    this.worker.on('exit', () => this.fail(new StoreUnavailableError(new Error('the store thread exited'))));
  }

  private call<T>(method: keyof Store, ...args: unknown[]): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies StoreCall);
    });
  }

  private settle(reply: StoreReply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if ('error' in reply) waiting.reject(restore(reply.error));
    else waiting.resolve(reply.value);
  }

  private fail(error: StoreUnavailableError): void {
    this.gone ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  migrate(): Promise<number> { return this.call('migrate'); }
  insertEvent(event: NewEvent): Promise<InsertResult> { return this.call('insertEvent', event); }
  getEvent(id: string): Promise<NormalizedEvent | undefined> { return this.call('getEvent', id); }
  listEvents(filter?: EventFilter): Promise<NormalizedEvent[]> { return this.call('listEvents', filter); }
  countEvents(filter?: EventFilter): Promise<number> { return this.call('countEvents', filter); }
  unroutedEvents(limit: number): Promise<NormalizedEvent[]> { return this.call('unroutedEvents', limit); }
  markRouted(routings: EventRouting[]): Promise<void> { return this.call('markRouted', routings); }
  claimDueDeliveries(request: ClaimRequest): Promise<Delivery[]> { return this.call('claimDueDeliveries', request); }
  completeAttempt(claimant: string, attempt: Attempt, verdict: AttemptVerdict): Promise<boolean> { return this.call('completeAttempt', claimant, attempt, verdict); }
  releaseClaims(claimant?: string): Promise<void> { return this.call('releaseClaims', claimant); }
  recoverClaimsAtStartup(): Promise<void> { return this.call('recoverClaimsAtStartup'); }
  nextDueAt(destinations: readonly string[]): Promise<number | undefined> { return this.call('nextDueAt', destinations); }
  getDelivery(id: string): Promise<Delivery | undefined> { return this.call('getDelivery', id); }
  listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]> { return this.call('listDeliveries', filter); }
  listAttempts(deliveryId: string): Promise<Attempt[]> { return this.call('listAttempts', deliveryId); }
  retryDelivery(id: string, now: number): Promise<boolean> { return this.call('retryDelivery', id, now); }
  retryDeadLetters(filter: DeadLetterFilter, now: number): Promise<number> { return this.call('retryDeadLetters', filter, now); }
  addDeliveries(additions: AddedDeliveries[], now: number): Promise<void> { return this.call('addDeliveries', additions, now); }
  queueSnapshot(now: number): Promise<QueueSnapshot> { return this.call('queueSnapshot', now); }
  pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number> { return this.call('pruneEvents', receivedBeforeMs, batchSize); }
  pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number> { return this.call('pruneDedupeKeys', expiredBeforeMs, batchSize); }
  exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]> { return this.call('exportEvents', after, limit); }
  importEvents(records: EventRecord[]): Promise<number> { return this.call('importEvents', records); }
  ping(): Promise<void> { return this.call('ping'); }

  /** Closes the database (after the calls sent before it), then ends the thread. */
  async close(): Promise<void> {
    if (this.gone) return;
    await this.call('close').catch(() => {}); // a store that never opened has nothing to close
    this.fail(new StoreUnavailableError(new Error('the store is closed')));
    await this.worker.terminate();
  }
}

/** An error from the thread as the caller expects it: StoreUnavailableError stays one. */
function restore(carried: CarriedError): Error {
  if (carried.unavailable) {
    const error = new StoreUnavailableError(undefined);
    error.message = carried.message; // already "the store is unavailable: <cause>"
    return error;
  }
  return new Error(carried.message);
}
