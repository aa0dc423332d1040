/** Runs the built `herald` command as a separate process, as a user would. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
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

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
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
