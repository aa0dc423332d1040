/**
 * The load the bench sends: one job, run by a process of its own
 * (load-generator.ts, forked by the bench) so that it never shares an event
 * loop with herald or the sink, or inside the bench's process in the quick
 * plan. It signs every request it may need before the clock starts, runs the
 * job and returns the result.
 *
 * Closed loop: keep-alive connections, each sending its next request when the
 * last is answered (throughput and ack latency), from wrk (wrk.ts: a C program run
 * as a child and waited for) or, when wrk is not installed, autocannon;
 * for a duration, or (`count`) until a fixed number of requests is answered.
 * Open loop: requests leave on a fixed schedule whatever the answers (an
 * undici Pool of keep-alive connections); latency is counted from the time a
 * request was due, so a stalled server cannot hide its stall (no coordinated
 * omission).
 */
import { Pool } from 'undici';
import {
  clock,
  percentile,
  signedRequests,
  type ClosedLoadJob,
  type ClosedLoadResult,
  type LoadJob,
  type LoadProgress,
  type LoadResult,
  type PacedLoadJob,
  type PacedLoadResult,
} from './common.js';
import { runWrk } from './wrk.js';

async function runClosed(job: ClosedLoadJob): Promise<ClosedLoadResult> {
  const pool = signedRequests(job.tag, job.poolSize);
  if (job.generator.kind === 'wrk') return runWrk(job.generator.path, job, pool, job.generator.threads);
  // Loaded only when used: the quick plan runs this in the bench's process, where wrk needs none of it.
  const { default: autocannon } = await import('autocannon');
  const path = new URL(job.url).pathname;
  let next = 0;
  let exhausted = false;
  const cpuBefore = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        // A count: each connection sends its share and the run ends when all are answered (autocannon notices at its next sample).
        ...(job.count === undefined ? { duration: job.durationS } : { amount: job.count, sampleInt: 10 }),
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path,
            // One shared counter: every connection takes the next unused signed request.
            setupRequest: (request) => {
              if (next === pool.length) {
                // Out of distinct requests: stop rather than send duplicates (herald answers those without storing).
                exhausted = true;
                instance.stop();
                next = 0;
              }
              const signed = pool[next++]!;
              return { ...request, method: 'POST', path, headers: signed.headers, body: signed.body };
            },
          },
        ],
      },
      (error, result) => {
        if (error) return reject(error);
        const failed = result.non2xx + result.errors + result.timeouts;
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          kind: 'closed',
          durationS: result.duration,
          ok: result['2xx'],
          failed,
          rps: result['2xx'] / Math.max(result.duration, 0.01),
          latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
          exhausted,
          cpuS: (cpu.user + cpu.system) / 1e6,
        });
      },
    );
  });
}

/**
 * Requests sent and not yet answered, at most. A server far behind a fast
 * schedule would otherwise queue the rest of the run in this process (at
 * 8,000/s against herald's 1,700, 4 GB of heap within a minute, and the load
 * generator died of it); beyond this the sender waits instead.
 */
const MAX_OUTSTANDING = 2_000;

async function runPaced(job: PacedLoadJob, onProgress?: (progress: LoadProgress['progress']) => void): Promise<PacedLoadResult> {
  const total = Math.max(1, Math.round(job.rate * job.durationS));
  const requests = signedRequests(job.tag, total);
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, pipelining: 1 });
  const interval = 1000 / job.rate;
  const ackLatencies = new Float64Array(total).fill(NaN);
  let sent = 0;
  let ok = 0;
  let failed = 0;
  let lastAnswerAt = 0;
  let maxLagMs = 0;
  const answered = new Set<Promise<void>>();

  const send = (index: number, dueAt: number) => {
    const { body, headers } = requests[index]!;
    const answer = pool.request({ method: 'POST', path: url.pathname, headers, body }).then(
      async (response) => {
        await response.body.dump();
        lastAnswerAt = clock();
        ackLatencies[index] = lastAnswerAt - dueAt;
        if (response.statusCode >= 200 && response.statusCode < 300) ok++;
        else failed++;
      },
      () => {
        failed++;
      },
    );
    answered.add(answer);
    void answer.finally(() => answered.delete(answer));
  };

  const report = setInterval(() => onProgress?.({ sent, ok, failed }), 1000);
  const startAt = clock() + 50;
  const cpuBefore = process.cpuUsage();
  try {
    while (sent < total) {
      const now = clock();
      const due = Math.min(total, Math.floor((now - startAt) / interval) + 1);
      if (due > sent) maxLagMs = Math.max(maxLagMs, now - (startAt + sent * interval));
      while (sent < due && answered.size < MAX_OUTSTANDING) {
        send(sent, startAt + sent * interval);
        sent++;
      }
      // Queue full: wait for answers. The wait counts in the latency (it runs from the due time) and in maxLagMs.
      const untilNext = answered.size >= MAX_OUTSTANDING ? 1 : startAt + sent * interval - clock();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, untilNext)));
    }
    const settleBy = Date.now() + job.settleS * 1000;
    while (answered.size > 0 && Date.now() < settleBy) await Promise.race([...answered, sleep(100)]);
  } finally {
    clearInterval(report);
  }
  const cpu = process.cpuUsage(cpuBefore);
  await pool.destroy();
  const durationS = Math.max((lastAnswerAt - startAt) / 1000, (total * interval) / 1000);
  const latencies = ackLatencies.filter((v) => !Number.isNaN(v)).sort();
  return {
    kind: 'paced',
    startAt,
    rate: job.rate,
    sent,
    ok,
    failed: failed + answered.size,
    durationS,
    // Over the time to the last answer: a server that falls behind the schedule shows a lower rate.
    ackRate: ok / durationS,
    ackLatencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: percentile(latencies, 100) },
    maxLagMs,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs one job; a paced one reports its progress once a second. */
export function runLoadJob(job: LoadJob, onProgress?: (progress: LoadProgress['progress']) => void): Promise<LoadResult> {
  return job.kind === 'closed' ? runClosed(job) : runPaced(job, onProgress);
}
