/**
 * The deliver stage on a thread of its own (`delivery.thread`, on by default;
 * for a SQLite file only): the main thread receives, stores and routes events, the
 * deliver thread claims, sends and records deliveries, so herald uses two
 * cores. The two share nothing per delivery: the deliver thread opens its own
 * connection to the SQLite file (WAL lets a reader and a writer work at once;
 * a WriteGate in shared memory takes turns between the two writers) and finds
 * the due deliveries there, as it did on the main thread. What crosses between
 * the threads is small and rare: a wake-up after routing (at most one per turn
 * of the event loop), pause and resume, config reloads, batches of log lines,
 * breaker transitions, the metrics at a scrape. The stage's progress (for
 * /readyz) is read from shared memory.
 *
 * Claims stay where they were, in the SQLite store's memory (claims.ts): now
 * the deliver thread's connection holds them. The main thread's connection
 * never claims. bench/RESULTS.md has what the split costs and gains.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { createChannel, type Channel } from '../../channels/channel.js';
import type { ThreadStore } from '../../core/threads.js';
import type { HeraldConfig } from '../../core/config.js';
import type { DataKeyring } from '../../core/sealing.js';
import { DELIVER_YOUNG_GENERATION_MB } from '../../core/heap.js';
import type { Logger } from '../../core/log.js';
import { DELIVER_THREAD, type WriteGate } from '../../store/sqlite/write-gate.js';
import type { BreakerOpening } from '../alerts/alert-event.js';
import type { BreakerState } from '../mechanisms/circuit-breaker.js';
import { deliveryPolicy, type DeliveryPolicy } from '../mechanisms/delivery-policy.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';
import type { ConfiguredDestinations } from '../upkeep/removed-destinations.js';
import { StageProgress } from '../mechanisms/stage-progress.js';

/** What startHerald needs of a deliver stage, on this thread (DeliverStage) or on its own (DeliverThread). */
export interface DeliveryRunner {
  pause(destination: string): void;
  resume(destination: string): void;
  paused(): string[];
  wake(): void;
  /** Whether delivering moves (readiness). */
  readonly progress: StageProgress;
  /** Starts delivering (a thread: resolves once it is up). */
  start(): void | Promise<void>;
  /** Stops claiming; resolves once the attempts in flight are finished and recorded. */
  stop(): Promise<void>;
  breakerStates(): Record<string, BreakerState>;
}

/** The channels and delivery policies of a config's destinations; `threads` keeps their email and Slack threads. */
export function destinationsOf(config: HeraldConfig, threads: ThreadStore): { channels: Record<string, Channel>; policies: Record<string, DeliveryPolicy> } {
  const destinations = Object.values(config.destinations);
  return {
    channels: Object.fromEntries(destinations.map((d) => [d.name, createChannel(d, { threads })])),
    policies: Object.fromEntries(destinations.map((d) => [d.name, deliveryPolicy(d, config.delivery)])),
  };
}

/** What the deliver thread starts with (structured-cloned into it). */
export interface DeliverWorkerData {
  file: string;
  gate: SharedArrayBuffer;
  progress: SharedArrayBuffer;
  config: HeraldConfig;
  claimant: string;
  paused: string[];
  log: { level: string; bindings: Record<string, unknown> };
  /** The data keys (DataKeyring.material): the thread's connection seals and opens as the main thread's does. */
  keys: { current: Uint8Array | null; old: Uint8Array[] };
}

export type ToDeliverThread =
  | { type: 'start' }
  | { type: 'wake' }
  | { type: 'pause'; destination: string }
  | { type: 'resume'; destination: string }
  | { type: 'reload'; config: HeraldConfig; configured: ConfiguredDestinations }
  | { type: 'metrics'; id: number }
  | { type: 'stop' };

export type FromDeliverThread =
  | { type: 'ready' }
  | { type: 'logs'; lines: string }
  | { type: 'breaker'; destination: string; state: BreakerState }
  | { type: 'breaker-opened'; destination: string; opening: BreakerOpening }
  | { type: 'metrics'; id: number; metrics: unknown[] }
  | { type: 'stopped' };

export interface DeliverThreadDeps {
  /** The SQLite file, and the gate of the main thread's connection to it. */
  file: string;
  gate: WriteGate;
  /** The store's data keys (README, "Encryption at rest"). */
  keys: DataKeyring;
  config: HeraldConfig;
  claimant: string;
  log: Logger;
  metrics: HeraldMetrics;
  onBreakerOpened?: (destination: string, opening: BreakerOpening) => void;
}

/** How long a scrape waits for the deliver thread's metrics. */
const METRICS_TIMEOUT_MS = 2000;
/** After the thread died (a bug), wait this long before starting a new one. */
const RESTART_MS = 1000;

/** The deliver stage on its own thread, as seen from the main thread. */
export class DeliverThread implements DeliveryRunner {
  readonly progress: StageProgress;
  private readonly progressBuffer: SharedArrayBuffer;
  private worker: Worker | undefined;
  private readonly pausedDestinations = new Set<string>();
  private readonly breakers = new Map<string, BreakerState>();
  private readonly metricReplies = new Map<number, (metrics: unknown[]) => void>();
  private nextMetricsId = 0;
  private config: HeraldConfig;
  private wakeQueued = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly deps: DeliverThreadDeps) {
    this.config = deps.config;
    this.progressBuffer = StageProgress.sharedBuffer();
    this.progress = new StageProgress(Date.now, this.progressBuffer);
    deps.metrics.mergeFrom(() => this.threadMetrics() as never);
  }

  /** Starts the thread; resolves once it runs (it claims from then on), rejects if it could not start. */
  start(): Promise<void> {
    const { file, gate, claimant, log, keys } = this.deps;
    const data: DeliverWorkerData = {
      file,
      gate: gate.shared,
      progress: this.progressBuffer,
      config: this.config,
      claimant,
      paused: [...this.pausedDestinations],
      log: { level: log.level, bindings: log.bindings() },
      keys: keys.material(),
    };
    // Beside this file in tsc's output; in the bundle, an entry point of its own in the same folder (scripts/bundle.mjs).
    const worker = new Worker(new URL('./deliver-worker.js', import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: DELIVER_YOUNG_GENERATION_MB },
    });
    this.worker = worker;
    const running = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('exit', (code) => reject(new Error(`the deliver thread exited with ${code} while starting`)));
    });
    // Before a 'ready' that never comes, an 'error': the exit rejects; nobody need wait for it otherwise.
    running.catch(() => {});
    const stream = (log as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym]!;
    worker.on('message', (message: FromDeliverThread) => {
      switch (message.type) {
        case 'ready':
          this.post({ type: 'start' });
          break;
        case 'logs':
          // Line by line: a pretty destination formats one JSON line per write.
          for (const line of message.lines.split('\n')) if (line) stream.write(`${line}\n`);
          break;
        case 'breaker':
          this.breakers.set(message.destination, message.state);
          break;
        case 'breaker-opened':
          this.deps.onBreakerOpened?.(message.destination, message.opening);
          break;
        case 'metrics':
          this.metricReplies.get(message.id)?.(message.metrics);
          break;
        case 'stopped':
          // Everything is recorded and closed: nothing left for it to do, whatever handle might keep it alive.
          void worker.terminate();
          break;
        default:
      }
    });
    worker.on('error', (error) => log.error({ err: error.message }, 'the deliver thread failed'));
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      // Stopped by force mid-commit, it would hold the gate forever, and the main thread could never commit again.
      this.deps.gate.releaseIfHeldBy(DELIVER_THREAD);
      if (this.stopping) return;
      // Its claims went with it: the deliveries it had in flight are due again, and are sent again (at least once).
      log.error({ code }, 'the deliver thread stopped unexpectedly; starting a new one');
      setTimeout(() => {
        if (!this.stopping) void this.start().catch(() => {});
      }, RESTART_MS).unref();
    });
    return running;
  }

  /** New deliveries exist: tells the thread once per turn of the event loop, however many batches were routed. */
  wake(): void {
    if (this.wakeQueued) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      this.post({ type: 'wake' });
    });
  }

  pause(destination: string): void {
    this.pausedDestinations.add(destination);
    this.post({ type: 'pause', destination });
  }

  resume(destination: string): void {
    if (this.pausedDestinations.delete(destination)) this.post({ type: 'resume', destination });
  }

  paused(): string[] {
    return [...this.pausedDestinations].sort();
  }

  breakerStates(): Record<string, BreakerState> {
    return Object.fromEntries(this.breakers);
  }

  /** A new config: the thread builds its channels and policies from it, and dead-letters the deliveries to removed destinations. */
  reload(config: HeraldConfig, configured: ConfiguredDestinations): void {
    this.config = config;
    this.post({ type: 'reload', config, configured });
  }

  /** Stops claiming; resolves once the thread has recorded the attempts in flight and closed its connection. */
  stop(): Promise<void> {
    this.stopped ??= this.stopThread();
    return this.stopped;
  }

  private async stopThread(): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = once(worker, 'exit');
    this.post({ type: 'stop' });
    await exited;
  }

  private post(message: ToDeliverThread): void {
    this.worker?.postMessage(message);
  }

  private threadMetrics(): Promise<unknown[]> {
    if (!this.worker) return Promise.resolve([]);
    const id = this.nextMetricsId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done([]), METRICS_TIMEOUT_MS);
      const done = (metrics: unknown[]) => {
        clearTimeout(timer);
        this.metricReplies.delete(id);
        resolve(metrics);
      };
      this.metricReplies.set(id, done);
      this.post({ type: 'metrics', id });
    });
  }
}
