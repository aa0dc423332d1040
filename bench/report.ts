/**
 * Turns the runs into medians, ratios against the baseline of the same run,
 * verdicts on the targets, and a Markdown report.
 */
import type { BacklogRun, BaselineRun, EndToEndRun, IngestRun, LatencyRun, ScaleRun, SustainedRun } from './scenarios.js';

export interface Runs {
  baseline: BaselineRun[];
  ingest: IngestRun[];
  /** End to end, closed loop (older results have none). */
  endToEnd?: EndToEndRun[];
  /** The baseline run just before each of them. */
  endToEndBaseline?: BaselineRun[];
  sustained: SustainedRun[];
  latency: LatencyRun[];
  backlog: BacklogRun[];
  scaleSmall: ScaleRun[];
  scaleLarge: ScaleRun[];
  bigBacklog: BacklogRun[];
}

export interface Machine {
  cpus: number;
  model: string;
  memoryGb: number;
  node: string;
  /** 1-minute load average before the bench started. */
  loadBefore: number;
  /** Cores' worth of CPU used by processes other than the bench's, on average over the run. */
  otherCores: number;
}

export interface Verdict {
  scenario: string;
  measured: string;
  target: string;
  /** undefined: the scenario did not run (`--only`). */
  met: boolean | undefined;
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const med = <T>(runs: T[], pick: (run: T) => number) => median(runs.map(pick));
/**
 * The median of the ratios of runs made one after the other (a[i] just after
 * b[i]): on a shared machine the load of the others drifts, and a pair sees
 * nearly the same machine where two medians may not.
 */
const pairRatio = <A, B>(a: A[], pickA: (run: A) => number, b: B[], pickB: (run: B) => number) =>
  median(a.slice(0, b.length).map((run, i) => pickA(run) / pickB(b[i]!)));

/** herald's ingest throughput against the baseline's, pair by pair. */
export const ingestRatio = (runs: Runs) =>
  pairRatio(
    runs.ingest,
    (r) => r.rps,
    runs.baseline,
    (r) => r.rps,
  );
/** herald's end-to-end throughput (closed loop) against the baseline's, pair by pair. */
export const endToEndRatio = (runs: Runs) =>
  pairRatio(
    runs.endToEnd ?? [],
    (r) => r.rps,
    runs.endToEndBaseline ?? [],
    (r) => r.rps,
  );
/** CPU per event with many rules against with few, pair by pair. */
export const scaleCostRatio = (runs: Runs) =>
  pairRatio(
    runs.scaleLarge,
    (r) => r.cpuUsPerEvent,
    runs.scaleSmall,
    (r) => r.cpuUsPerEvent,
  );
const fixed = (n: number, digits = 0) =>
  Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const times = (n: number, digits = 2) => (Number.isNaN(n) ? 'n/a' : `${fixed(n, digits)}x`);
const list = <T>(runs: T[], pick: (run: T) => number, digits = 0) => runs.map((r) => fixed(pick(r), digits)).join(', ');

/** The highest peak RSS of these runs; NaN (shown as n/a) when there are none. */
const peakOf = (runs: Array<{ peakMb: number }>) => (runs.length === 0 ? NaN : Math.max(...runs.map((r) => r.peakMb)));

export function verdicts(runs: Runs, backlogTarget: number): Verdict[] {
  return checkedVerdicts(runs, backlogTarget).map(({ ran, ...verdict }) => ({ ...verdict, met: ran ? verdict.met : undefined }));
}

function checkedVerdicts(runs: Runs, backlogTarget: number): Array<Verdict & { ran: boolean }> {
  const baseRps = med(runs.baseline, (r) => r.rps);
  const ingest = ingestRatio(runs);
  const sustained = runs.sustained;
  const sustainedOk =
    sustained.length > 0 &&
    sustained.every((r) => r.failed === 0 && r.missing === 0 && r.ackRate >= 0.99 * r.offered && r.queueEnd <= r.queueMiddle + r.offered / 2);
  const peakS1to4 = peakOf([...runs.ingest, ...(runs.endToEnd ?? []), ...runs.sustained, ...runs.latency, ...runs.backlog]);
  const backlogRaise = med(runs.bigBacklog, (r) => r.peakMb) - med(runs.backlog, (r) => r.peakMb);
  const scaleCost = scaleCostRatio(runs);
  const failedIngest = runs.ingest.reduce((n, r) => n + r.failed, 0);
  const e2e = runs.endToEnd ?? [];
  const e2eRatio = endToEndRatio(runs);
  // Delivering kept up: at most half a second of events waiting when the load stopped, nothing failed or missing.
  const e2eKeptUp = e2e.length > 0 && e2e.every((r) => r.failed === 0 && r.missing === 0 && r.queueEnd <= r.rps / 2);
  return [
    { scenario: '1 ingest only', measured: `${times(ingest, 2)} baseline`, target: '>= 0.5x', met: ingest >= 0.5, ran: runs.ingest.length > 0 },
    {
      scenario: '1 ingest only',
      measured: `p99 ${fixed(
        med(runs.ingest, (r) => r.p99),
        1,
      )} ms`,
      target: '<= 25 ms',
      met: med(runs.ingest, (r) => r.p99) <= 25,
      ran: runs.ingest.length > 0,
    },
    { scenario: '1 ingest only', measured: `${failedIngest} non-2xx`, target: '0', met: failedIngest === 0, ran: runs.ingest.length > 0 },
    {
      scenario: '2 end to end, closed loop',
      measured: `${times(e2eRatio, 2)} baseline, queue at the end ${list(e2e, (r) => r.queueEnd)}, missing ${list(e2e, (r) => r.missing)}`,
      target: '>= 0.3x, queue not growing, all delivered',
      met: e2eRatio >= 0.3 && e2eKeptUp,
      ran: e2e.length > 0,
    },
    {
      scenario: '2 end to end, closed loop',
      measured: `p99 ${fixed(
        med(e2e, (r) => r.p99),
        1,
      )} ms`,
      target: '<= 25 ms',
      met: med(e2e, (r) => r.p99) <= 25,
      ran: e2e.length > 0,
    },
    {
      scenario: '2 sustained end to end',
      measured: `${fixed(med(sustained, (r) => r.ackRate))}/s acked (${times(med(sustained, (r) => r.ackRate) / baseRps, 3)}), queue ${list(sustained, (r) => r.queueMiddle)} -> ${list(sustained, (r) => r.queueEnd)}, missing ${list(sustained, (r) => r.missing)}`,
      target: '>= 0.3x for the whole run, queue not growing, all delivered',
      met: sustainedOk,
      ran: sustained.length > 0,
    },
    {
      scenario: '3 latency at a fixed rate',
      measured: `p50 ${fixed(
        med(runs.latency, (r) => r.p50),
        1,
      )} ms`,
      target: '<= 10 ms',
      met: med(runs.latency, (r) => r.p50) <= 10,
      ran: runs.latency.length > 0,
    },
    {
      scenario: '3 latency at a fixed rate',
      measured: `p99 ${fixed(
        med(runs.latency, (r) => r.p99),
        1,
      )} ms`,
      target: '<= 100 ms',
      met: med(runs.latency, (r) => r.p99) <= 100,
      ran: runs.latency.length > 0,
    },
    {
      scenario: '4 backlog drain',
      measured: `${fixed(med(runs.backlog, (r) => r.rate))}/s`,
      target: `>= ${fixed(backlogTarget)}/s`,
      met: med(runs.backlog, (r) => r.rate) >= backlogTarget,
      ran: runs.backlog.length > 0,
    },
    { scenario: '5 rules scale', measured: `${times(scaleCost, 2)} CPU per event`, target: '<= 1.2x', met: scaleCost <= 1.2, ran: runs.scaleLarge.length > 0 },
    { scenario: '6 memory', measured: `peak ${fixed(peakS1to4)} MB`, target: '<= 200 MB', met: peakS1to4 <= 200, ran: !Number.isNaN(peakS1to4) },
    {
      scenario: '6 memory',
      measured: `+${fixed(backlogRaise, 1)} MB with the big backlog`,
      target: '<= +50 MB',
      met: backlogRaise <= 50,
      ran: runs.bigBacklog.length > 0 && runs.backlog.length > 0,
    },
  ];
}

export function markdownReport(
  runs: Runs,
  machine: Machine,
  checked: Verdict[],
  info: {
    command: string;
    loadGenerator?: string;
    plan: string;
    startedAt: string;
    minutes: number;
    backlog: number;
    bigBacklog: number;
    rules: [number, number];
  },
): string {
  const baseRps = med(runs.baseline, (r) => r.rps);
  const ratio = (n: number) => times(n / baseRps, 2);
  // Every core busy with herald (and the sink) and the load generator at their measured cost per event:
  // no concurrency or threading inside herald gets past this rate.
  const allowedRate = med(runs.sustained, (r) => (machine.cpus * 1e6) / (r.cpuUsPerEvent + r.sinkCpuUsPerEvent + r.loadCpuUsPerEvent));
  const allowedIngest = med(runs.ingest, (r) => (machine.cpus * 1e6) / (r.cpuUsPerEvent + r.loadCpuUsPerEvent));
  const e2e = runs.endToEnd ?? [];
  // The end-to-end runs are against their own baseline runs (one just before each).
  const e2eRatio = (n: number) => times(n / med(runs.endToEndBaseline ?? [], (r) => r.rps), 2);
  const allowedEndToEnd = med(e2e, (r) => (machine.cpus * 1e6) / (r.cpuUsPerEvent + r.sinkCpuUsPerEvent + r.loadCpuUsPerEvent));
  const rows: string[][] = [
    ['baseline: bare Koa, 32 connections', 'req/s', fixed(baseRps), '', list(runs.baseline, (r) => r.rps)],
    [
      '',
      'p99 ms',
      fixed(
        med(runs.baseline, (r) => r.p99),
        1,
      ),
      '',
      list(runs.baseline, (r) => r.p99, 1),
    ],
    ['', 'Koa CPU µs/request', fixed(med(runs.baseline, (r) => r.cpuUsPerRequest)), '', list(runs.baseline, (r) => r.cpuUsPerRequest)],
    ['', 'load generator CPU µs/request', fixed(med(runs.baseline, (r) => r.loadCpuUsPerRequest)), '', list(runs.baseline, (r) => r.loadCpuUsPerRequest)],
    [
      '1 ingest only (route, deliver off)',
      'req/s',
      fixed(med(runs.ingest, (r) => r.rps)),
      `${times(ingestRatio(runs), 2)} (pairs)`,
      list(runs.ingest, (r) => r.rps),
    ],
    [
      '',
      'p50 / p99 ms',
      `${fixed(
        med(runs.ingest, (r) => r.p50),
        1,
      )} / ${fixed(
        med(runs.ingest, (r) => r.p99),
        1,
      )}`,
      '',
      list(runs.ingest, (r) => r.p99, 1),
    ],
    ['', 'non-2xx', String(runs.ingest.reduce((n, r) => n + r.failed, 0)), '', list(runs.ingest, (r) => r.failed)],
    [
      '',
      'herald CPU µs/event',
      fixed(med(runs.ingest, (r) => r.cpuUsPerEvent)),
      `${times(
        pairRatio(
          runs.ingest,
          (r) => r.cpuUsPerEvent,
          runs.baseline,
          (r) => r.cpuUsPerRequest,
        ),
        1,
      )} Koa's`,
      list(runs.ingest, (r) => r.cpuUsPerEvent),
    ],
    ['', 'load generator CPU µs/event', fixed(med(runs.ingest, (r) => r.loadCpuUsPerEvent)), '', list(runs.ingest, (r) => r.loadCpuUsPerEvent)],
    ['', 'events/s the cores allow at that cost', fixed(allowedIngest), ratio(allowedIngest), ''],
    [
      '2 end to end, closed loop (one rule, a webhook to the sink)',
      'baseline req/s, the run before each',
      fixed(med(runs.endToEndBaseline ?? [], (r) => r.rps)),
      '',
      list(runs.endToEndBaseline ?? [], (r) => r.rps),
    ],
    ['', 'acked req/s', fixed(med(e2e, (r) => r.rps)), `${times(endToEndRatio(runs), 2)} (pairs)`, list(e2e, (r) => r.rps)],
    ['', 'delivered /s during the run', fixed(med(e2e, (r) => r.deliveredRate)), e2eRatio(med(e2e, (r) => r.deliveredRate)), list(e2e, (r) => r.deliveredRate)],
    [
      '',
      'p50 / p99 ms',
      `${fixed(
        med(e2e, (r) => r.p50),
        1,
      )} / ${fixed(
        med(e2e, (r) => r.p99),
        1,
      )}`,
      '',
      list(e2e, (r) => r.p99, 1),
    ],
    [
      '',
      'queue at the end / drain after, s',
      `${fixed(med(e2e, (r) => r.queueEnd))} / ${fixed(
        med(e2e, (r) => r.drainS),
        1,
      )}`,
      '',
      e2e.map((r) => `${r.queueEnd} / ${fixed(r.drainS, 1)}`).join(', '),
    ],
    ['', 'non-2xx / missing', `${e2e.reduce((n, r) => n + r.failed, 0)} / ${e2e.reduce((n, r) => n + r.missing, 0)}`, '', ''],
    ['', 'herald CPU µs/event', fixed(med(e2e, (r) => r.cpuUsPerEvent)), '', list(e2e, (r) => r.cpuUsPerEvent)],
    [
      '',
      'sink / load generator CPU µs/event',
      `${fixed(med(e2e, (r) => r.sinkCpuUsPerEvent))} / ${fixed(med(e2e, (r) => r.loadCpuUsPerEvent))}`,
      '',
      e2e.map((r) => `${fixed(r.sinkCpuUsPerEvent)} / ${fixed(r.loadCpuUsPerEvent)}`).join(', '),
    ],
    ['', 'events/s the cores allow at that cost', fixed(allowedEndToEnd), e2eRatio(allowedEndToEnd), ''],
    [
      '2 sustained end to end (paced)',
      'offered /s',
      fixed(med(runs.sustained, (r) => r.offered)),
      ratio(med(runs.sustained, (r) => r.offered)),
      list(runs.sustained, (r) => r.offered),
    ],
    ['', 'acked /s', fixed(med(runs.sustained, (r) => r.ackRate)), ratio(med(runs.sustained, (r) => r.ackRate)), list(runs.sustained, (r) => r.ackRate)],
    [
      '',
      'ack p99 ms',
      fixed(
        med(runs.sustained, (r) => r.ackP99),
        1,
      ),
      '',
      list(runs.sustained, (r) => r.ackP99, 1),
    ],
    [
      '',
      'queue middle -> end',
      `${fixed(med(runs.sustained, (r) => r.queueMiddle))} -> ${fixed(med(runs.sustained, (r) => r.queueEnd))}`,
      '',
      runs.sustained.map((r) => `${r.queueMiddle}->${r.queueEnd}`).join(', '),
    ],
    [
      '',
      'acked / delivered / missing',
      `${fixed(med(runs.sustained, (r) => r.ok))} / ${fixed(med(runs.sustained, (r) => r.delivered))} / ${fixed(med(runs.sustained, (r) => r.missing))}`,
      '',
      list(runs.sustained, (r) => r.missing),
    ],
    [
      '',
      'drain after sending, s',
      fixed(
        med(runs.sustained, (r) => r.drainS),
        1,
      ),
      '',
      list(runs.sustained, (r) => r.drainS, 1),
    ],
    ['', 'herald CPU µs/event', fixed(med(runs.sustained, (r) => r.cpuUsPerEvent)), '', list(runs.sustained, (r) => r.cpuUsPerEvent)],
    [
      '',
      'sink / load generator CPU µs/event',
      `${fixed(med(runs.sustained, (r) => r.sinkCpuUsPerEvent))} / ${fixed(med(runs.sustained, (r) => r.loadCpuUsPerEvent))}`,
      '',
      runs.sustained.map((r) => `${fixed(r.sinkCpuUsPerEvent)} / ${fixed(r.loadCpuUsPerEvent)}`).join(', '),
    ],
    ['', 'events/s the cores allow at that cost', fixed(allowedRate), ratio(allowedRate), ''],
    [
      '3 request -> sink latency (paced)',
      'p50 / p90 ms',
      `${fixed(
        med(runs.latency, (r) => r.p50),
        1,
      )} / ${fixed(
        med(runs.latency, (r) => r.p90),
        1,
      )}`,
      '',
      list(runs.latency, (r) => r.p50, 1),
    ],
    [
      '',
      'p99 / max ms',
      `${fixed(
        med(runs.latency, (r) => r.p99),
        1,
      )} / ${fixed(
        med(runs.latency, (r) => r.max),
        1,
      )}`,
      '',
      list(runs.latency, (r) => r.p99, 1),
    ],
    ['', 'delivered / sent', `${fixed(med(runs.latency, (r) => r.delivered))} / ${fixed(med(runs.latency, (r) => r.sent))}`, '', ''],
    [
      '',
      'sender lag max ms',
      fixed(
        med(runs.latency, (r) => r.senderLagMs),
        1,
      ),
      '',
      list(runs.latency, (r) => r.senderLagMs, 1),
    ],
    [`4 backlog drain (${fixed(info.backlog)} queued)`, 'deliveries/s', fixed(med(runs.backlog, (r) => r.rate)), '', list(runs.backlog, (r) => r.rate)],
    ['', 'herald CPU µs/delivery', fixed(med(runs.backlog, (r) => r.cpuUsPerDelivery)), '', list(runs.backlog, (r) => r.cpuUsPerDelivery)],
    [
      `5 scale: ${fixed(info.rules[0])} rules`,
      'req/s',
      fixed(med(runs.scaleSmall, (r) => r.rps)),
      ratio(med(runs.scaleSmall, (r) => r.rps)),
      list(runs.scaleSmall, (r) => r.rps),
    ],
    ['', 'herald CPU µs/event', fixed(med(runs.scaleSmall, (r) => r.cpuUsPerEvent)), '', list(runs.scaleSmall, (r) => r.cpuUsPerEvent)],
    [
      `5 scale: ${fixed(info.rules[1])} rules`,
      'req/s',
      fixed(med(runs.scaleLarge, (r) => r.rps)),
      ratio(med(runs.scaleLarge, (r) => r.rps)),
      list(runs.scaleLarge, (r) => r.rps),
    ],
    [
      '',
      'herald CPU µs/event',
      fixed(med(runs.scaleLarge, (r) => r.cpuUsPerEvent)),
      `${times(scaleCostRatio(runs), 2)} (pairs)`,
      list(runs.scaleLarge, (r) => r.cpuUsPerEvent),
    ],
    [
      '6 peak RSS (VmHWM)',
      '1 / 2 / 3 / 4, MB',
      [runs.ingest, [...(runs.endToEnd ?? []), ...runs.sustained], runs.latency, runs.backlog].map((rs) => fixed(peakOf(rs))).join(' / '),
      '',
      '',
    ],
    [
      `6 big backlog (${fixed(info.bigBacklog)} queued, first ${fixed(info.backlog)} drained)`,
      'peak RSS MB',
      fixed(med(runs.bigBacklog, (r) => r.peakMb)),
      '',
      list(runs.bigBacklog, (r) => r.peakMb),
    ],
    ['', 'deliveries/s', fixed(med(runs.bigBacklog, (r) => r.rate)), '', list(runs.bigBacklog, (r) => r.rate)],
  ];
  const table = (head: string[], body: string[][]) =>
    [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const checks = checked.map((v) => [v.scenario, v.measured, v.target, v.met === undefined ? 'not run' : v.met ? 'met' : '**missed**']);
  const busy = machine.otherCores >= 0.1;
  return [
    `## Run of ${info.startedAt} (${info.plan})`,
    '',
    `Machine: ${machine.cpus} cores (${machine.model}), ${fixed(machine.memoryGb, 1)} GB memory, Node ${machine.node}. ` +
      `Load average before: ${fixed(machine.loadBefore, 2)}; other processes used ${fixed(machine.otherCores, 2)} cores on average during the run` +
      (busy ? ': **a busy machine**, compare ratios within this run, not absolute numbers across runs.' : '.'),
    '',
    `Command: \`${info.command}\`; took ${fixed(info.minutes, 1)} min. Closed loops driven by ${info.loadGenerator ?? 'autocannon'}.`,
    '',
    table(['scenario', 'metric', 'median', 'vs baseline', 'runs'], rows),
    '',
    table(['scenario', 'measured', 'target', ''], checks),
    '',
  ].join('\n');
}
