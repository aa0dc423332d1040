/**
 * The scenarios, one function per run of one scenario. Each starts a fresh
 * herald on its own SQLite file, drives it from a separate load-generator
 * process (in the quick plan, from the bench's own), and reads what it needs
 * from the sink, from /proc and from the queue in the SQLite file.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  percentile,
  type ClosedLoadJob,
  type ClosedLoadResult,
  type LoadJob,
  type LoadProgress,
  type LoadResult,
  type PacedLoadJob,
  type PacedLoadResult,
} from './common.js';
import { QueueReader, writeHeraldSetup, type QueueDepth } from './fixtures.js';
import { cpuSeconds, freePort, memoryMb, runLoad, startHeraldProcess, type HeraldProcess, type SinkProcess } from './processes.js';

/** How long and how much: the full run, or the quick one that only checks the bench works. */
export interface Plan {
  runs: number;
  /** Closed-loop runs (baseline, ingest, scale), seconds. */
  closedS: number;
  /**
   * Instead of closedS, each closed-loop run sends this many distinct
   * requests and ends when all are answered (the quick plan: whole seconds of
   * wrk at full speed would cost more than the rest of the run).
   */
  closedCount?: number;
  /**
   * Load sent to each fresh process before it is measured, seconds: its first
   * second runs cold (code not yet optimized, connections not yet open) and
   * would otherwise decide the tail latencies. 0: no warm-up.
   */
  warmupS: number;
  connections: number;
  sustainS: number;
  /** Most the sustained scenario offers per second, whatever the baseline (the quick run keeps it small). */
  sustainMaxRate: number;
  latencyRate: number;
  latencyS: number;
  /** Deliveries queued for the backlog drain; the big backlog is drained this far too. */
  backlog: number;
  bigBacklog: number;
  /** Rule counts compared by the scale scenario; the first is also what every other herald run loads. */
  rules: [number, number];
  /**
   * Run the load in the bench's own process instead of a fresh load-generator
   * process per measurement (the quick plan: starting one costs more than its
   * tiny load; wrk is still a process of its own).
   */
  loadInProcess: boolean;
  /** How often a condition is polled (herald ready, the sink's count, the queue), milliseconds. */
  pollMs: number;
  /**
   * Runs that start herald with the same flags and rules share one process,
   * kept until stopSharedHeralds: the first starts it (on a seeded store if
   * it needs one), later ones that need no seeded store reuse it (the quick
   * plan: the backlog drain, then end to end, sustained and latency on the
   * same herald; a herald start costs about 2 CPU-seconds, more than the tiny
   * runs on it).
   */
  shareHeralds: boolean;
}

export interface Bench {
  /** The snapshot of the build that every process runs from. */
  root: string;
  benchDir: string;
  /** Scratch folder for herald's configs and SQLite files. */
  work: string;
  sink: SinkProcess;
  plan: Plan;
  /** Write a CPU profile of every herald process here. */
  cpuProfileDir?: string;
  /** What drives the closed loops: wrk, or autocannon where wrk is not installed. */
  closedGenerator: ClosedLoadJob['generator'];
  /** herald's `delivery.thread` in the bench (on unless `--delivery-thread off`, as herald's own default). */
  deliveryThread: boolean;
  /** The heralds kept for reuse (plan.shareHeralds), by how they were started. */
  shared?: Map<string, BenchHerald>;
}

/** Distinct requests signed per second of a closed-loop run: more than the fastest server here answers. */
const POOL_RATE = 25_000;

let heralds = 0;
let tags = 0;
const newTag = () => `r${Date.now().toString(36)}${(tags++).toString(36)}`;

interface BenchHerald extends HeraldProcess {
  dbFile: string;
}

/**
 * Starts herald on a fresh folder: `ruleCount` rules, `flags` for serve,
 * optionally a copy of a seeded SQLite file. With plan.shareHeralds, the first
 * herald started with these rules and flags is kept (its stop() leaves it
 * running) and reused by every later call that needs no seeded file.
 */
async function startBenchHerald(bench: Bench, opts: { ruleCount?: number; flags?: string[]; seededDb?: string } = {}): Promise<BenchHerald> {
  if (!bench.plan.shareHeralds) return startFreshHerald(bench, opts);
  const key = JSON.stringify([opts.ruleCount ?? bench.plan.rules[0], opts.flags ?? []]);
  bench.shared ??= new Map();
  const kept = bench.shared.get(key);
  if (kept && !opts.seededDb) return { ...kept, stop: async () => {} };
  const herald = await startFreshHerald(bench, opts);
  // A seeded run while one is kept (the big backlog after the backlog): its own, stopped after it.
  if (kept) return herald;
  bench.shared.set(key, herald);
  return { ...herald, stop: async () => {} };
}

/** Stops the heralds kept for reuse (plan.shareHeralds); throws, as stop() does, if one exited badly. */
export async function stopSharedHeralds(bench: Bench): Promise<void> {
  const kept = [...(bench.shared?.values() ?? [])];
  bench.shared?.clear();
  for (const herald of kept) await herald.stop();
}

async function startFreshHerald(bench: Bench, opts: { ruleCount?: number; flags?: string[]; seededDb?: string }): Promise<BenchHerald> {
  const dir = path.join(bench.work, `herald-${++heralds}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const files = writeHeraldSetup(dir, {
    port,
    sinkUrl: bench.sink.url,
    templatesDir: path.join(bench.root, 'templates'),
    ruleCount: opts.ruleCount ?? bench.plan.rules[0],
    deliveryThread: bench.deliveryThread,
  });
  if (opts.seededDb) copyFileSync(opts.seededDb, files.dbFile);
  const herald = await startHeraldProcess(bench.root, files.configFile, port, {
    flags: opts.flags,
    cpuProfileDir: bench.cpuProfileDir,
    pollMs: bench.plan.pollMs,
  });
  return { ...herald, dbFile: files.dbFile };
}

/** Runs one load job: in a fresh load-generator process, or in this one (plan.loadInProcess). */
async function sendLoad(bench: Bench, job: LoadJob, onProgress?: (progress: LoadProgress['progress']) => void): Promise<LoadResult> {
  if (!bench.plan.loadInProcess) return runLoad(bench.benchDir, job, onProgress);
  const { runLoadJob } = await import('./load.js');
  return runLoadJob(job, onProgress);
}

/** A closed-loop job against herald's (or the baseline's) webhook URL: for `durationS`, or `count` requests. */
function closedJob(bench: Bench, url: string, durationS: number, count?: number): ClosedLoadJob {
  return {
    kind: 'closed',
    url: `${url}/webhooks/facesign`,
    connections: bench.plan.connections,
    durationS,
    count,
    tag: newTag(),
    poolSize: count ?? Math.ceil(durationS * POOL_RATE),
    generator: bench.closedGenerator,
  };
}

/**
 * A closed-loop run against `url`, after a warm-up of the same kind; `cpuS`
 * is the CPU time process `pid` spent from the end of the warm-up on (the
 * warm-up's own work must not count against the measured requests).
 * `settled` is awaited after the warm-up and after the run, before CPU time
 * is read: work the requests leave behind (routing) counts with them.
 */
async function closedLoad(
  bench: Bench,
  url: string,
  pid: number,
  settled: () => Promise<unknown> = async () => {},
): Promise<{ load: ClosedLoadResult; cpuS: number }> {
  const { closedS, closedCount, warmupS } = bench.plan;
  if (warmupS > 0) await sendLoad(bench, closedJob(bench, url, warmupS));
  await settled();
  const cpuBefore = cpuSeconds(pid);
  const load = (await sendLoad(bench, closedJob(bench, url, closedS, closedCount))) as ClosedLoadResult;
  await settled();
  return { load, cpuS: cpuSeconds(pid) - cpuBefore };
}

/** Paced load at `rate` for the warm-up time, then waits until the sink has it all and forgets it. */
async function pacedWarmUp(bench: Bench, url: string, rate: number): Promise<void> {
  const { warmupS, connections } = bench.plan;
  if (warmupS === 0) return;
  const warm = (await sendLoad(bench, {
    kind: 'paced',
    url: `${url}/webhooks/facesign`,
    connections,
    rate,
    durationS: warmupS,
    tag: newTag(),
    settleS: 30,
  })) as PacedLoadResult;
  await waitFor(bench, async () => (await bench.sink.stats()).unique >= warm.ok, 60_000);
  await bench.sink.reset();
}

/** Polls `check` every plan.pollMs until it holds; false after `timeoutMs`. */
async function waitFor(bench: Bench, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, bench.plan.pollMs));
  }
  return true;
}

export interface ClosedRun {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  exhausted: boolean;
}

function closedRun(load: ClosedLoadResult): ClosedRun {
  return { rps: load.rps, p50: load.latencyMs.p50, p99: load.latencyMs.p99, failed: load.failed, exhausted: load.exhausted };
}

export interface BaselineRun extends ClosedRun {
  cpuUsPerRequest: number;
  /** autocannon's CPU per request: what the load itself costs the machine. */
  loadCpuUsPerRequest: number;
}

/** The baseline: the bare Koa app under the same closed-loop load. */
export async function baselineRun(bench: Bench, koa: { url: string; pid: number }): Promise<BaselineRun> {
  const { load, cpuS } = await closedLoad(bench, koa.url, koa.pid);
  return { ...closedRun(load), cpuUsPerRequest: (cpuS * 1e6) / load.ok, loadCpuUsPerRequest: (load.cpuS * 1e6) / load.ok };
}

export interface IngestRun extends ClosedRun {
  cpuUsPerEvent: number;
  loadCpuUsPerEvent: number;
  peakMb: number;
}

/** 1. Ingest only: herald with routing and delivery paused, closed loop. */
export async function ingestOnlyRun(bench: Bench): Promise<IngestRun> {
  const herald = await startBenchHerald(bench, { flags: ['--no-route', '--no-deliver'] });
  try {
    const { load, cpuS } = await closedLoad(bench, herald.url, herald.pid);
    return {
      ...closedRun(load),
      cpuUsPerEvent: (cpuS * 1e6) / load.ok,
      loadCpuUsPerEvent: (load.cpuS * 1e6) / load.ok,
      peakMb: memoryMb(herald.pid).peak,
    };
  } finally {
    await herald.stop();
  }
}

export interface EndToEndRun extends ClosedRun {
  ok: number;
  /** Distinct deliveries at the sink by the end of the run, per second of it: delivering kept up if about rps. */
  deliveredRate: number;
  /** Unrouted events plus pending deliveries when the load stopped. */
  queueEnd: number;
  /** After the load stopped, until the sink had every acknowledged event. */
  drainS: number;
  missing: number;
  cpuUsPerEvent: number;
  sinkCpuUsPerEvent: number;
  loadCpuUsPerEvent: number;
  peakMb: number;
}

/**
 * 2. End to end in a closed loop: as many events as herald acknowledges, each
 * routed and delivered to the sink; how many it acknowledges per second, and
 * whether delivering kept up (the queue when the load stopped).
 */
export async function endToEndRun(bench: Bench): Promise<EndToEndRun> {
  await bench.sink.reset();
  const herald = await startBenchHerald(bench);
  const queue = new QueueReader(herald.dbFile);
  try {
    const { closedS, closedCount, warmupS } = bench.plan;
    if (warmupS > 0) {
      const warm = (await sendLoad(bench, closedJob(bench, herald.url, warmupS))) as ClosedLoadResult;
      await waitFor(bench, async () => (await bench.sink.stats()).unique >= warm.ok, 60_000);
      await bench.sink.reset();
    }
    const cpuBefore = cpuSeconds(herald.pid);
    const sinkCpuBefore = cpuSeconds(bench.sink.pid);
    const load = (await sendLoad(bench, closedJob(bench, herald.url, closedS, closedCount))) as ClosedLoadResult;
    const depth = queue.depth();
    const deliveredByEnd = (await bench.sink.stats()).unique;
    const stopped = Date.now();
    await waitFor(bench, async () => (await bench.sink.stats()).unique >= load.ok, 60_000);
    const drainS = (Date.now() - stopped) / 1000;
    const cpuS = cpuSeconds(herald.pid) - cpuBefore;
    const sinkCpuS = cpuSeconds(bench.sink.pid) - sinkCpuBefore;
    const delivered = (await bench.sink.stats()).unique;
    return {
      ...closedRun(load),
      ok: load.ok,
      deliveredRate: deliveredByEnd / load.durationS,
      queueEnd: depth.unrouted + depth.pending,
      drainS,
      missing: Math.max(0, load.ok - delivered),
      cpuUsPerEvent: (cpuS * 1e6) / Math.max(1, delivered),
      sinkCpuUsPerEvent: (sinkCpuS * 1e6) / Math.max(1, delivered),
      loadCpuUsPerEvent: (load.cpuS * 1e6) / Math.max(1, load.ok),
      peakMb: memoryMb(herald.pid).peak,
    };
  } finally {
    queue.close();
    await herald.stop();
  }
}

export interface SustainedRun {
  offered: number;
  ackRate: number;
  ackP99: number;
  ok: number;
  failed: number;
  delivered: number;
  /** Acknowledged events the sink never saw. */
  missing: number;
  /** Unrouted events plus pending deliveries, halfway through and at the end of sending. */
  queueMiddle: number;
  queueEnd: number;
  /** After the last request, until the sink had every acknowledged event. */
  drainS: number;
  /** herald's CPU time per event, ingest to delivery. */
  cpuUsPerEvent: number;
  /** The sink's and the load generator's, per event: with herald's, what one event costs the machine. */
  sinkCpuUsPerEvent: number;
  loadCpuUsPerEvent: number;
  badSignatures: number;
  peakMb: number;
}

/** 2. Sustained end to end at a fixed rate: ingest, route, deliver to the sink. */
export async function sustainedRun(bench: Bench, rate: number): Promise<SustainedRun> {
  await bench.sink.reset();
  const herald = await startBenchHerald(bench);
  const queue = new QueueReader(herald.dbFile);
  const depths: QueueDepth[] = [];
  try {
    await pacedWarmUp(bench, herald.url, rate);
    const cpuBefore = cpuSeconds(herald.pid);
    const sinkCpuBefore = cpuSeconds(bench.sink.pid);
    const tag = newTag();
    const job: PacedLoadJob = {
      kind: 'paced',
      url: `${herald.url}/webhooks/facesign`,
      connections: bench.plan.connections,
      rate,
      durationS: bench.plan.sustainS,
      tag,
      settleS: 30,
    };
    // A progress message comes once a second: look at the queue then, while requests are still being sent.
    const total = Math.round(rate * bench.plan.sustainS);
    const load = (await sendLoad(bench, job, (progress: LoadProgress['progress']) => {
      if (progress.sent < total) depths.push(queue.depth());
    })) as PacedLoadResult;
    const sendingDone = Date.now();
    await waitFor(bench, async () => (await bench.sink.stats()).unique >= load.ok, 60_000);
    const drainS = (Date.now() - sendingDone) / 1000;
    const cpuS = cpuSeconds(herald.pid) - cpuBefore;
    const sinkCpuS = cpuSeconds(bench.sink.pid) - sinkCpuBefore;
    const arrivals = await bench.sink.arrivals(tag, load.sent);
    const delivered = arrivals.filter((at) => at >= 0).length;
    const stats = await bench.sink.stats();
    const queued = (d: QueueDepth | undefined) => (d ? d.unrouted + d.pending : NaN);
    return {
      offered: rate,
      ackRate: load.ackRate,
      ackP99: load.ackLatencyMs.p99,
      ok: load.ok,
      failed: load.failed,
      delivered,
      missing: Math.max(0, load.ok - delivered),
      queueMiddle: queued(depths[Math.floor((depths.length - 1) / 2)]),
      queueEnd: queued(depths.at(-1)),
      drainS,
      cpuUsPerEvent: (cpuS * 1e6) / Math.max(1, delivered),
      sinkCpuUsPerEvent: (sinkCpuS * 1e6) / Math.max(1, delivered),
      loadCpuUsPerEvent: (load.cpuS * 1e6) / Math.max(1, load.sent),
      badSignatures: stats.badSignatures,
      peakMb: memoryMb(herald.pid).peak,
    };
  } finally {
    queue.close();
    await herald.stop();
  }
}

export interface LatencyRun {
  sent: number;
  delivered: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** How far behind its schedule the load generator fell, at worst (would inflate the latencies). */
  senderLagMs: number;
  peakMb: number;
}

/** 3. Latency at a fixed rate: from the scheduled send of each request to the sink receiving its delivery. */
export async function latencyRun(bench: Bench): Promise<LatencyRun> {
  await bench.sink.reset();
  const herald = await startBenchHerald(bench);
  try {
    const { latencyRate: rate, latencyS, connections } = bench.plan;
    await pacedWarmUp(bench, herald.url, rate);
    const tag = newTag();
    const load = (await sendLoad(bench, {
      kind: 'paced',
      url: `${herald.url}/webhooks/facesign`,
      connections,
      rate,
      durationS: latencyS,
      tag,
      settleS: 30,
    })) as PacedLoadResult;
    await waitFor(bench, async () => (await bench.sink.stats()).unique >= load.ok, 30_000);
    const arrivals = await bench.sink.arrivals(tag, load.sent);
    const latencies = Float64Array.from(arrivals.flatMap((at, i) => (at < 0 ? [] : [at - (load.startAt + (i * 1000) / rate)]))).sort();
    return {
      sent: load.sent,
      delivered: latencies.length,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: percentile(latencies, 100),
      senderLagMs: load.maxLagMs,
      peakMb: memoryMb(herald.pid).peak,
    };
  } finally {
    await herald.stop();
  }
}

export interface BacklogRun {
  /** Deliveries that were waited for. */
  count: number;
  delivered: number;
  /** Deliveries per second, from the first to the count-th arriving at the sink. */
  rate: number;
  /** herald's CPU time per delivery (from just after start-up). */
  cpuUsPerDelivery: number;
  peakMb: number;
}

/**
 * 4 and 6. Starts herald on a copy of a seeded SQLite file and waits until the
 * sink has `count` distinct deliveries (all of a 100,000 backlog; the first
 * 100,000 of a 1,000,000 one), then reads herald's peak RSS.
 */
export async function backlogRun(bench: Bench, seededDb: string, count: number): Promise<BacklogRun> {
  await bench.sink.reset();
  const herald = await startBenchHerald(bench, { seededDb });
  try {
    const cpuBefore = cpuSeconds(herald.pid);
    await waitFor(bench, async () => (await bench.sink.stats()).unique >= count, Math.max(60_000, count * 2));
    const cpuS = cpuSeconds(herald.pid) - cpuBefore;
    const stats = await bench.sink.stats();
    const spanS = ((stats.lastAt ?? 0) - (stats.firstAt ?? 0)) / 1000;
    return {
      count,
      delivered: stats.unique,
      rate: spanS > 0 ? (stats.unique - 1) / spanS : NaN,
      cpuUsPerDelivery: (cpuS * 1e6) / Math.max(1, stats.unique),
      peakMb: memoryMb(herald.pid).peak,
    };
  } finally {
    await herald.stop();
  }
}

export interface ScaleRun {
  ruleCount: number;
  rps: number;
  p99: number;
  failed: number;
  /** herald's CPU time per event, ingest and routing both (until every event was routed). */
  cpuUsPerEvent: number;
  /** Deliveries routing created, and events stored (warm-up included): equal when the one rule fired for each. */
  deliveries: number;
  events: number;
  ok: number;
}

/** 5. Ingest with routing on (delivery paused) under `ruleCount` rules. */
export async function scaleRun(bench: Bench, ruleCount: number): Promise<ScaleRun> {
  const herald = await startBenchHerald(bench, { ruleCount, flags: ['--no-deliver'] });
  const queue = new QueueReader(herald.dbFile);
  try {
    const allRouted = () => waitFor(bench, () => queue.depth().unrouted === 0, 120_000);
    const { load, cpuS } = await closedLoad(bench, herald.url, herald.pid, allRouted);
    const depth = queue.depth();
    return {
      ruleCount,
      rps: load.rps,
      p99: load.latencyMs.p99,
      failed: load.failed,
      cpuUsPerEvent: (cpuS * 1e6) / load.ok,
      deliveries: depth.pending,
      events: depth.events,
      ok: load.ok,
    };
  } finally {
    queue.close();
    await herald.stop();
  }
}
