/** Runs the built `herald` command as a separate process, as a user would. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { runHeraldInProcess } from './cli-in-process.js';

/** The bin users run (package.json): the bundle of the CLI (README, "Building"). */
export const HERALD_BIN = path.join(PACKAGE_ROOT, 'dist/bin/herald.js');
/** The CLI's entry point in tsc's output, for runs inside the test process: it shares its modules with the tests. */
const HERALD_MAIN_COMPILED = path.join(PACKAGE_ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `herald <args>` to completion and returns what it printed and its exit
 * code. A command other than `serve` runs inside this test process (see
 * runHeraldInProcess), from tsc's output of the same code, half a second of CPU or
 * more cheaper than a new process. `serve`, or `{ process: true }`, runs the built
 * bin as a child process (runHeraldProcess), for tests about the process itself.
 */
export function runHerald(args: string[], env: NodeJS.ProcessEnv = {}, { process: asProcess = false } = {}): Promise<CliResult> {
  return asProcess || args.includes('serve') ? runHeraldProcess(args, env) : runHeraldInProcess(HERALD_MAIN_COMPILED, args, env);
}

/** Runs `herald <args>` as a child process, as a user would, to completion (at most 30 s). */
export function runHeraldProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [HERALD_BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A port nobody listens on right now, for a listener that starts later (`herald serve`, or a
 * process restarted on the same port) or for a receiver that is meant to refuse connections.
 *
 * Not one the kernel hands out for port 0. Sinks and in-process heralds listen on port 0, in this
 * process and in mocha's other worker, and the kernel may give them a port just found free here:
 * on Linux, listen(0) draws at random from the odd ports of the lower half of
 * ip_local_port_range, about 7,000 ports by default. A sink of the other worker that drew the port of a
 * `herald serve` before that process bound it answered serveHerald's /readyz and the test's
 * webhook with 200 (media-archive-crash timed out waiting for a download that the real herald,
 * which had failed to bind, never started); a sink that drew the port a breaker test's herald
 * was sending to got that herald's deliveries (delivery.test.ts counted a second webhook-id).
 * So the port is drawn below the ephemeral range, where neither port 0 nor an outgoing
 * connection's local port ever lands, and checked free by binding it. It is also reserved
 * across mocha's workers (reservePort): each worker draws from the same range, and two could
 * draw one port before either's herald bound it.
 */
export async function freePort(): Promise<number> {
  const [low, high] = [FREE_PORTS_FROM, Math.min(ephemeralPortsFrom(), 49_152)];
  for (let tries = 0; tries < 100; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the check: a call running beside this one draws another
    if (!reservePort(port)) continue; // another worker's
    const server = net.createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue; // in use: stays in handedOut, not drawn again
    server.close();
    await once(server, 'close');
    return port;
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

/** Where each port freePort() hands out is reserved, a file per port, for every process of the run. */
const RESERVED_PORTS = path.join(os.tmpdir(), 'herald-test-ports');
/** A reservation older than this is an earlier run's: the port is free to draw again. */
const RESERVATION_MS = 30 * 60_000;

/** Reserves `port` for this process unless another process of the run has (an exclusive create is atomic). */
function reservePort(port: number): boolean {
  mkdirSync(RESERVED_PORTS, { recursive: true });
  const file = path.join(RESERVED_PORTS, String(port));
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    if (Date.now() - statSync(file).mtimeMs < RESERVATION_MS) return false;
    rmSync(file, { force: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch {
    // Another process took it over first (or removed it meanwhile): draw another.
    return false;
  }
}

/** The lowest port freePort() draws; the ones below are left to services the machine may run. */
const FREE_PORTS_FROM = 15_000;
/** Ports freePort() drew in this process (handed out, or in use): two callers in one test may both be yet to bind theirs. */
const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range (Linux); elsewhere, or with no room below it, the IANA range's, 49152. */
function ephemeralPortsFrom(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > FREE_PORTS_FROM + 1000) return low;
  } catch {
    // not Linux
  }
  return 49_152;
}

const READY_WITHIN_MS = 30_000;

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** Everything it wrote to stdout so far: its logs (with `captureStdout`; else empty). */
  stdout(): string;
  /** Waits for the process to exit and returns its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `herald serve` and resolves once /readyz answers 200. Its logs
 * (stdout) are dropped unless `captureStdout`: a pipe nobody reads would
 * fill and stall the process.
 */
export async function serveHerald(
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv = {},
  { captureStdout = false, readyWithinMs = READY_WITHIN_MS, prefix = [] as string[] } = {},
): Promise<ServeProcess> {
  // `prefix`: a command that runs herald, as `unshare ... sh -c '...; exec "$@"'` does; the child's pid is herald's.
  const argv = [...prefix, process.execPath, HERALD_BIN, ...args, 'serve'];
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, HERALD_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk) => (stdout += chunk.toString()));
  // 'close', not 'exit': by then everything the process wrote has been read.
  const exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const url = `http://127.0.0.1:${port}`;
  // A bound, not a speed check: on a shared 2-core machine under load a process has taken over 15 s to start.
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`herald serve exited with ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`herald serve was not ready within ${readyWithinMs / 1000} s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, stderr: () => stderr, stdout: () => stdout, exited };
}

/** Kills every process still running (SIGKILL) and waits until all have exited: a test's clean-up. */
export async function killAll(processes: readonly ServeProcess[]): Promise<void> {
  for (const { child } of processes) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
}
