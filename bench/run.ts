/**
 * `npm run bench`: herald's throughput, latency and memory against a bare Koa
 * baseline measured in the same run, on this machine only (127.0.0.1).
 *
 *   node dist/bench/run.js [--quick] [--runs N] [--only 1,2,...] [--out DIR] [--cpu-prof]
 *
 * --quick     tiny counts, no warm-ups: checks the bench itself works (npm test runs it; see QUICK below)
 * --runs N    runs of each scenario (default 3; medians are reported)
 * --only      scenarios to run (1-6; the baseline always runs)
 * --out DIR   where results.json and results.md go (default bench/out)
 * --cpu-prof  write a CPU profile of every herald process to DIR/profiles
 * --record    also put the report into bench/RESULTS.md, between its "latest run" markers
 * --load-generator wrk|autocannon
 *             what drives the closed loops (default: wrk when it is on PATH, else autocannon, with a warning)
 * --closed-s N, --sustain-s N
 *             seconds of each closed-loop run (default 10) and of the paced sustained run (default 60)
 * --delivery-thread on|off
 *             herald's delivery.thread (default on, as herald's own): off runs it on one thread
 *
 * Every process is separate: herald (`herald serve` on SQLite), the sink it
 * delivers to, the Koa baseline, and a fresh load generator per measurement
 * (the quick plan sends its load from this process, and its backlog,
 * end-to-end, sustained and latency runs share one herald).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import { growBacklog, seedBacklog, writeHeraldSetup } from './fixtures.js';
import { childrenCpuSeconds, startKoaBaseline, startSink } from './processes.js';
import { markdownReport, median, verdicts, type Machine, type Runs } from './report.js';
import {
  backlogRun,
  baselineRun,
  endToEndRun,
  ingestOnlyRun,
  latencyRun,
  scaleRun,
  stopSharedHeralds,
  sustainedRun,
  type Bench,
  type Plan,
} from './scenarios.js';
import { snapshotBuild } from './snapshot.js';
import { findWrk, WRK_INSTALL, wrkVersion } from './wrk.js';

/** wrk's threads: one sends 32 connections' requests at a few µs of CPU each, and leaves the other core to the server. */
const WRK_THREADS = 1;

const FULL: Plan = {
  runs: 3,
  closedS: 10,
  warmupS: 2,
  connections: 32,
  sustainS: 60,
  sustainMaxRate: Infinity,
  latencyRate: 1000,
  latencyS: 20,
  backlog: 100_000,
  bigBacklog: 1_000_000,
  rules: [10, 10_000],
  loadInProcess: false,
  pollMs: 50,
  shareHeralds: false,
};
/**
 * Every scenario once, as briefly as still exercises it: `npm test` runs it
 * (test/bench/quick.test.ts) on every change. Each closed loop sends 100
 * requests (closedS applies only with --closed-s), nothing is warmed up, the
 * load is sent from this process, and the runs that start herald the same
 * way share one (scenario 4 first, then 2 and 3 on its herald): herald's
 * start-up is most of what the quick run costs.
 */
const QUICK: Plan = {
  runs: 1,
  closedS: 0.5,
  closedCount: 100,
  warmupS: 0,
  connections: 32,
  sustainS: 1,
  sustainMaxRate: 150,
  latencyRate: 200,
  latencyS: 0.5,
  backlog: 200,
  bigBacklog: 1_000,
  rules: [10, 200],
  loadInProcess: true,
  pollMs: 10,
  shareHeralds: true,
};
/** Target of the backlog drain, deliveries per second. */
const BACKLOG_TARGET = 5000;
/** The share of the baseline's requests per second that the sustained scenario offers. */
const SUSTAINED_SHARE = 0.3;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(PACKAGE_ROOT, 'bench/out') },
    'cpu-prof': { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    'load-generator': { type: 'string' },
    'delivery-thread': { type: 'string', default: 'on' },
    'closed-s': { type: 'string' },
    'sustain-s': { type: 'string' },
  },
});

const plan: Plan = { ...(args.quick ? QUICK : FULL) };
if (args.runs) plan.runs = Math.max(1, Number(args.runs));
if (args['closed-s']) {
  plan.closedS = Math.max(1, Number(args['closed-s']));
  delete plan.closedCount;
}
if (args['sustain-s']) plan.sustainS = Math.max(1, Number(args['sustain-s']));
const only = new Set((args.only ?? '1,2,3,4,5,6').split(',').map((s) => Number(s.trim())));
const startedMs = Date.now();
const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - startedMs) / 1000).toFixed(0).padStart(4)}s] ${message}\n`);

/** Busy CPU ticks of the whole machine so far (all cores), from /proc/stat. */
function machineBusyS(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields as number[];
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / 100;
}

function machine(otherCores: number, loadBefore: number): Machine {
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  return { cpus: os.availableParallelism(), model, memoryGb: os.totalmem() / 2 ** 30, node: process.versions.node, loadBefore, otherCores };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  const busyBefore = machineBusyS();
  const ownBefore = process.cpuUsage();
  mkdirSync(args.out!, { recursive: true });
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const root = snapshotBuild(PACKAGE_ROOT, path.join(scratch, 'build'));
  const work = path.join(scratch, 'work');
  const cpuProfileDir = args['cpu-prof'] ? path.join(path.resolve(args.out!), 'profiles') : undefined;
  const benchDir = path.join(root, 'dist/bench');
  const sink = await startSink(benchDir);
  const koa = await startKoaBaseline(benchDir);
  const closedGenerator = chooseClosedGenerator(args['load-generator']);
  log(`closed loops: ${describeGenerator(closedGenerator)}`);
  const deliveryThread = args['delivery-thread'] !== 'off';
  const bench: Bench = { root, benchDir, work, sink, plan, cpuProfileDir, closedGenerator, deliveryThread };
  const runs: Runs = {
    baseline: [],
    ingest: [],
    endToEnd: [],
    endToEndBaseline: [],
    sustained: [],
    latency: [],
    backlog: [],
    scaleSmall: [],
    scaleLarge: [],
    bigBacklog: [],
  };

  try {
    // Seeded first, so that seeding's disk writes are over before anything is measured.
    const seeds = path.join(work, 'seeds');
    const seedSetup = writeHeraldSetup(seeds, { port: 1, sinkUrl: sink.url, templatesDir: path.join(root, 'templates'), ruleCount: plan.rules[0] });
    const backlogDb = path.join(seeds, 'backlog.db');
    const bigBacklogDb = path.join(seeds, 'big-backlog.db');
    if (only.has(4) || only.has(6)) {
      log(`seeding ${plan.backlog} pending deliveries`);
      log(`  done in ${await seedBacklog(seedSetup.configFile, backlogDb, plan.backlog, 'seed')} ms`);
    }
    if (only.has(6)) {
      log(`seeding ${plan.bigBacklog} pending deliveries`);
      const started = Date.now();
      if (existsSync(backlogDb)) copyFileSync(backlogDb, bigBacklogDb);
      else await seedBacklog(seedSetup.configFile, bigBacklogDb, plan.backlog, 'seed');
      growBacklog(bigBacklogDb, plan.bigBacklog);
      log(`  done in ${Date.now() - started} ms`);
    }

    // The baseline, interleaved with ingest-only runs so both see the same machine.
    for (let i = 0; i < plan.runs; i++) {
      runs.baseline.push(await baselineRun(bench, koa));
      log(`baseline run ${i + 1}: ${runs.baseline.at(-1)!.rps.toFixed(0)} req/s`);
      if (only.has(1)) {
        runs.ingest.push(await ingestOnlyRun(bench));
        log(`1 ingest only run ${i + 1}: ${runs.ingest.at(-1)!.rps.toFixed(0)} req/s, p99 ${runs.ingest.at(-1)!.p99} ms`);
      }
    }
    const baseRps = median(runs.baseline.map((r) => r.rps));
    const backlogRuns = async () => {
      for (let i = 0; i < plan.runs; i++) {
        runs.backlog.push(await backlogRun(bench, backlogDb, plan.backlog));
        log(`4 backlog run ${i + 1}: ${runs.backlog.at(-1)!.rate.toFixed(0)} deliveries/s, peak ${runs.backlog.at(-1)!.peakMb.toFixed(0)} MB`);
      }
    };
    // Sharing heralds (quick), the backlog drains first: the herald it starts then serves scenarios 2 and 3.
    if (only.has(4) && plan.shareHeralds) await backlogRuns();
    if (only.has(2)) {
      // Closed loop end to end, each run just after a baseline run: their ratio is the target's.
      for (let i = 0; i < plan.runs; i++) {
        runs.endToEndBaseline!.push(await baselineRun(bench, koa));
        runs.endToEnd!.push(await endToEndRun(bench));
        const r = runs.endToEnd!.at(-1)!;
        log(
          `2 end to end run ${i + 1}: ${r.rps.toFixed(0)} req/s acked, ${r.deliveredRate.toFixed(0)}/s delivered, queue at the end ${r.queueEnd}, p99 ${r.p99} ms`,
        );
      }
      const rate = Math.min(plan.sustainMaxRate, Math.max(1, Math.ceil(SUSTAINED_SHARE * baseRps)));
      for (let i = 0; i < plan.runs; i++) {
        runs.sustained.push(await sustainedRun(bench, rate));
        const r = runs.sustained.at(-1)!;
        log(`2 sustained run ${i + 1}: ${r.ackRate.toFixed(0)}/s of ${rate}/s acked, queue ${r.queueMiddle} -> ${r.queueEnd}, missing ${r.missing}`);
      }
    }
    if (only.has(3)) {
      for (let i = 0; i < plan.runs; i++) {
        runs.latency.push(await latencyRun(bench));
        const r = runs.latency.at(-1)!;
        log(`3 latency run ${i + 1}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ${r.delivered}/${r.sent} delivered`);
      }
    }
    if (only.has(4) && !plan.shareHeralds) await backlogRuns();
    if (only.has(5)) {
      for (let i = 0; i < plan.runs; i++) {
        for (const [count, into] of [
          [plan.rules[0], runs.scaleSmall],
          [plan.rules[1], runs.scaleLarge],
        ] as const) {
          into.push(await scaleRun(bench, count));
          log(`5 scale run ${i + 1}, ${count} rules: ${into.at(-1)!.rps.toFixed(0)} req/s, ${into.at(-1)!.cpuUsPerEvent.toFixed(0)} µs CPU/event`);
        }
      }
    }
    if (only.has(6)) {
      for (let i = 0; i < plan.runs; i++) {
        runs.bigBacklog.push(await backlogRun(bench, bigBacklogDb, plan.backlog));
        log(`6 big backlog run ${i + 1}: peak ${runs.bigBacklog.at(-1)!.peakMb.toFixed(0)} MB, ${runs.bigBacklog.at(-1)!.rate.toFixed(0)} deliveries/s`);
      }
    }
  } finally {
    try {
      await stopSharedHeralds(bench);
    } finally {
      await sink.stop();
      await koa.stop();
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  const elapsedS = (Date.now() - startedMs) / 1000;
  const own = process.cpuUsage(ownBefore);
  const oursS = childrenCpuSeconds() + (own.user + own.system) / 1e6;
  const otherCores = Math.max(0, (machineBusyS() - busyBefore - oursS) / elapsedS);
  const described = machine(otherCores, loadBefore);
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const checked = verdicts(runs, BACKLOG_TARGET);
  const report = markdownReport(runs, described, checked, {
    command,
    loadGenerator: `${describeGenerator(closedGenerator)}; herald's delivery.thread ${deliveryThread ? 'on' : 'off'}`,
    plan: args.quick ? 'quick' : `${plan.runs} runs each`,
    startedAt: new Date(startedMs).toISOString(),
    minutes: elapsedS / 60,
    backlog: plan.backlog,
    bigBacklog: plan.bigBacklog,
    rules: plan.rules,
  });
  writeFileSync(path.join(args.out!, 'results.md'), report);
  writeFileSync(path.join(args.out!, 'results.json'), `${JSON.stringify({ plan, machine: described, runs, verdicts: checked }, null, 2)}\n`);
  if (args.record) recordInResults(path.join(PACKAGE_ROOT, 'bench/RESULTS.md'), report);
  process.stdout.write(report);
}

/**
 * wrk when it is installed (or asked for: then it must be); else autocannon,
 * a JavaScript load generator that costs several times wrk's CPU per request
 * and takes that from the server on a small machine.
 */
function chooseClosedGenerator(asked: string | undefined): Bench['closedGenerator'] {
  if (asked !== undefined && asked !== 'wrk' && asked !== 'autocannon') throw new Error(`--load-generator is wrk or autocannon, not "${asked}"`);
  if (asked === 'autocannon') return { kind: 'autocannon' };
  const wrk = findWrk();
  if (wrk) return { kind: 'wrk', path: wrk, threads: WRK_THREADS };
  if (asked === 'wrk') throw new Error(`wrk is not on PATH; install it: ${WRK_INSTALL}`);
  log(`wrk is not on PATH: the closed loops use autocannon instead, whose CPU per request is several times wrk's. Install wrk: ${WRK_INSTALL}`);
  return { kind: 'autocannon' };
}

function describeGenerator(generator: Bench['closedGenerator']): string {
  return generator.kind === 'wrk'
    ? `${wrkVersion(generator.path)}, ${generator.threads} thread${generator.threads === 1 ? '' : 's'}`
    : 'autocannon (wrk not installed)';
}

const LATEST_BEGIN = '<!-- latest run: written by npm run bench -- --record -->';
const LATEST_END = '<!-- end of latest run -->';

/** Replaces what is between the markers of RESULTS.md with `report`; the rest of the file is written by people. */
function recordInResults(file: string, report: string): void {
  const text = readFileSync(file, 'utf8');
  const begin = text.indexOf(LATEST_BEGIN);
  const end = text.indexOf(LATEST_END);
  if (begin < 0 || end < begin) throw new Error(`${file} has no "${LATEST_BEGIN}" ... "${LATEST_END}" markers`);
  writeFileSync(file, `${text.slice(0, begin + LATEST_BEGIN.length)}\n${report}\n${text.slice(end)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
