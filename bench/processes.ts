/**
 * The bench's processes: herald (`herald serve`, as a user runs it), the Koa
 * baseline, the webhook sink and the load generator, each a process of its
 * own; and what /proc says about them (CPU time, peak RSS). Every process the
 * bench starts is counted, so the report can tell how busy the rest of the
 * machine was.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SERVE_NODE_FLAGS } from '../src/core/heap.js';
import type { LoadJob, LoadProgress, LoadResult, SinkCommand, SinkReply, SinkStats } from './common.js';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_S = 100;

/** CPU seconds (user + system) used by a live process so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name, in parentheses, may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Peak (VmHWM) and current (VmRSS) resident memory of a live process, in MB. */
export function memoryMb(pid: number): { peak: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

/** CPU seconds of every process the bench started, read just before each stopped. */
let benchChildrenCpuS = 0;
export function childrenCpuSeconds(): number {
  return benchChildrenCpuS;
}

function countCpu(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    benchChildrenCpuS += cpuSeconds(pid);
  } catch {
    // already gone
  }
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  countCpu(child.pid);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Forks a bench script and resolves with the first message it sends (its port). */
async function forkReady(script: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => Promise.reject(new Error(`${path.basename(script)} exited with ${String(code)} before it was ready`))),
  ])) as [{ port: number }];
  return { child, port: message.port };
}

/** Sends a command to a forked process and resolves with its next message. */
function ask<T>(child: ChildProcess, command: unknown): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(command as object);
  });
}

export interface SinkProcess {
  url: string;
  pid: number;
  reset(): Promise<void>;
  stats(): Promise<SinkStats>;
  /** When each event of a load run first arrived, by request index (-1: never). */
  arrivals(tag: string, count: number): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startSink(benchDir: string): Promise<SinkProcess> {
  const { child, port } = await forkReady(path.join(benchDir, 'sink.js'));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    reset: () => ask<SinkReply>(child, { cmd: 'reset' } satisfies SinkCommand).then(() => undefined),
    stats: () => ask<{ stats: SinkStats }>(child, { cmd: 'stats' } satisfies SinkCommand).then((reply) => reply.stats),
    arrivals: (tag, count) => ask<{ arrivals: number[] }>(child, { cmd: 'arrivals', tag, count } satisfies SinkCommand).then((r) => r.arrivals),
    stop: () => stopChild(child),
  };
}

export interface BaselineProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startKoaBaseline(benchDir: string): Promise<BaselineProcess> {
  const { child, port } = await forkReady(path.join(benchDir, 'koa-baseline.js'));
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) };
}

/** Runs one load job in a fresh load-generator process. */
export async function runLoad(benchDir: string, job: LoadJob, onProgress?: (progress: LoadProgress['progress']) => void): Promise<LoadResult> {
  const child = fork(path.join(benchDir, 'load-generator.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit');
  const result = await new Promise<LoadResult>((resolve, reject) => {
    child.on('message', (message: LoadResult | LoadProgress) => {
      if ('progress' in message) return onProgress?.(message.progress);
      countCpu(child.pid);
      resolve(message);
    });
    void exited.then(([code]) => reject(new Error(`the load generator exited with ${String(code)} without a result`)));
    child.send(job);
  });
  await exited;
  return result;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** Whether something accepts a TCP connection on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface HeraldProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface HeraldOptions {
  /** `herald serve` flags, e.g. --no-route --no-deliver. */
  flags?: string[];
  /** Write a CPU profile (node --cpu-prof) into this folder when herald exits. */
  cpuProfileDir?: string;
  /** How often /readyz is asked while herald starts, milliseconds (default 50). */
  pollMs?: number;
}

/** Runs `herald serve` from the build in `root` and resolves once /readyz answers 200. */
export async function startHeraldProcess(root: string, configFile: string, port: number, options: HeraldOptions = {}): Promise<HeraldProcess> {
  // As herald's launchers run it (core/heap.ts).
  const nodeFlags = [...SERVE_NODE_FLAGS, ...(options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [])];
  const child = spawn(process.execPath, [...nodeFlags, path.join(root, 'dist/bin/herald.js'), '--config', configFile, 'serve', ...(options.flags ?? [])], {
    // Logs at herald's default level (info), as in production, to /dev/null.
    env: { ...process.env, HERALD_LOG_LEVEL: process.env.HERALD_LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald serve exited with ${child.exitCode}: ${stderr}`);
    try {
      // A refused connection costs next to nothing; a refused fetch builds errors and their causes.
      if ((await accepts(port)) && (await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`herald serve was not ready within 60 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 50));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      await stopChild(child, 30_000);
      if (child.exitCode !== 0) throw new Error(`herald serve exited with ${String(child.exitCode ?? child.signalCode)}: ${stderr}`);
    },
  };
}
