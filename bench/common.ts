/**
 * What the bench's processes share: the FaceSign source they sign for, the
 * webhook secret herald re-signs with, the clock they compare times on, and
 * the messages they exchange over IPC.
 */
import type { SourceConfig } from '../src/core/config.js';
import { facesign } from '../src/providers/facesign.js';

export const BENCH_SECRET = 'fs-bench-secret-4Tn8';
export const HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The source herald's generated config defines, as the load generator signs for it. */
export const BENCH_SOURCE: SourceConfig = {
  name: 'facesign',
  provider: 'facesign',
  secrets: [BENCH_SECRET],
  tokens: [],
  allowBareToken: false,
  toleranceMs: 300_000,
  signedPayload: 'timestamp.body',
  signatureEncoding: 'hex',
  dedupeWindowMs: 30 * 86_400_000,
  pii: 'redact',
};

/**
 * Wall-clock milliseconds with sub-millisecond resolution. Every process on
 * the machine reads the same clock, so a time taken by the load generator and
 * one taken by the sink can be subtracted.
 */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** The FaceSign event id of request `index` of a load run tagged `tag`; the sink reads it back. */
export function benchEventId(tag: string, index: number): string {
  return `evt_bench_${tag}_${index}`;
}

const BENCH_EVENT_ID = /^evt_bench_([a-z0-9]+)_(\d+)$/;

export function parseBenchEventId(id: string): { tag: string; index: number } | undefined {
  const match = BENCH_EVENT_ID.exec(id);
  return match ? { tag: match[1]!, index: Number(match[2]) } : undefined;
}

/** A signed request, ready to send: the bytes FaceSign would post and its headers. */
export interface SignedRequest {
  body: Buffer;
  headers: Record<string, string>;
}

/** Signs `count` distinct `session.status` events, as FaceSign would, ahead of the timed part. */
export function signedRequests(tag: string, count: number, nowMs = Date.now()): SignedRequest[] {
  const requests: SignedRequest[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(
      JSON.stringify({
        id: benchEventId(tag, i),
        type: 'session.status',
        createdAt: nowMs,
        sessionId: `sess_bench_${i}`,
      }),
    );
    requests[i] = { body, headers: { 'content-type': 'application/json', ...lowerCased(facesign.sign(body, BENCH_SOURCE, nowMs)) } };
  }
  return requests;
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

/** A closed-loop run: `connections` keep-alive connections, each sending its next request as soon as the last is answered. */
export interface ClosedLoadJob {
  kind: 'closed';
  url: string;
  connections: number;
  durationS: number;
  /**
   * Instead of a duration (the quick plan): send exactly this many distinct
   * requests, the whole pool, and end when every one is answered.
   */
  count?: number;
  tag: string;
  /** How many distinct requests to sign; if they run out, autocannon stops early and wrk starts them again (both say so). */
  poolSize: number;
  /** wrk (its path), or autocannon when wrk is not installed. */
  generator: { kind: 'wrk'; path: string; threads: number } | { kind: 'autocannon' };
}

/** An open-loop run: requests leave on a fixed schedule whatever the answers, over up to `connections` connections. */
export interface PacedLoadJob {
  kind: 'paced';
  url: string;
  connections: number;
  rate: number;
  durationS: number;
  tag: string;
  /** After the last send, how long to wait for the outstanding answers. */
  settleS: number;
}

export type LoadJob = ClosedLoadJob | PacedLoadJob;

export interface ClosedLoadResult {
  kind: 'closed';
  durationS: number;
  ok: number;
  /** Answers other than 2xx, connection errors and time-outs. */
  failed: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** The signed pool ran out before the duration was over (autocannon: the run was cut short; wrk: it sent duplicates). */
  exhausted: boolean;
  /** The load generator's own CPU seconds during the run (signing beforehand not counted). */
  cpuS: number;
}

export interface PacedLoadResult {
  kind: 'paced';
  /** Scheduled send time of request 0 (clock()); request i was due at start + i * 1000 / rate. */
  startAt: number;
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  /** From the first scheduled send to the last answer (at least the sending period). */
  durationS: number;
  /** 2xx answers per second, from the first scheduled send to the last answer. */
  ackRate: number;
  ackLatencyMs: { p50: number; p99: number; max: number };
  /** How far behind its schedule the sender itself fell, at worst. */
  maxLagMs: number;
  /** The load generator's own CPU seconds from the first send to the last answer (signing beforehand not counted). */
  cpuS: number;
}

export type LoadResult = ClosedLoadResult | PacedLoadResult;

/** Progress of a paced run, sent once a second. */
export interface LoadProgress {
  progress: { sent: number; ok: number; failed: number };
}

export interface SinkStats {
  /** Requests received. */
  received: number;
  /** Distinct webhook-id headers among them. */
  unique: number;
  /** Deliveries whose Standard Webhooks signature was checked, and how many of those failed. */
  verified: number;
  badSignatures: number;
  firstAt: number | null;
  lastAt: number | null;
}

export type SinkCommand =
  | { cmd: 'reset' }
  | { cmd: 'stats' }
  /** When each event of a load run first arrived, by request index (-1: never). */
  | { cmd: 'arrivals'; tag: string; count: number };

export type SinkReply = { stats: SinkStats } | { arrivals: number[] } | { ok: true };

/** The percentile `p` (0-100) of sorted numbers (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}
