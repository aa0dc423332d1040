/**
 * Runs the built `herald` command inside the test process instead of a new
 * one: a new Node process spends half a second of CPU or more loading herald's
 * modules before it does anything, and the CLI tests run hundreds of
 * commands. Here the modules are loaded once per test process and each run
 * evaluates a fresh copy of the entry point (dist/src/cli/main.js, imported
 * with a query so that it runs again), with what a process would have of its
 * own put in place for the run and restored after it:
 *
 * - process.argv: `node <bin> <args>`; process.env: this process's plus `env`
 *   (an undefined value removes the variable, as for a child process);
 * - process.stdout.write and process.stderr.write: captured, and both
 *   streams say they are not a terminal (a child's are pipes);
 * - process.exit(code): ends the run with that code (the first call wins;
 *   nothing written after it counts, as nothing would be written by an exited
 *   process); process.exitCode: the code when the run ends without exit().
 *
 * Runs are serialized: process-wide state can hold one run at a time. What
 * only a real process shows (the bin is executable, it exits when done, it
 * handles signals, `serve`) is tested with runHeraldProcess.
 */
import { pathToFileURL } from 'node:url';
import type { CliResult } from './cli.js';

/** Thrown by the stand-in for process.exit: unwinds the run like an exit would end the process. */
class ProcessExit extends Error {
  constructor(readonly exitCode: number) {
    super(`process.exit(${exitCode})`);
  }
}

let queue: Promise<unknown> = Promise.resolve();
let runs = 0;

export function runHeraldInProcess(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const run = queue.then(() => runOnce(bin, args, env));
  queue = run.catch(() => {});
  return run;
}

type Write = typeof process.stdout.write;

async function runOnce(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const saved = {
    argv: process.argv,
    env: process.env,
    exit: process.exit,
    exitCode: process.exitCode,
    stdoutWrite: process.stdout.write,
    stderrWrite: process.stderr.write,
    stdoutTTY: Object.getOwnPropertyDescriptor(process.stdout, 'isTTY'),
    stderrTTY: Object.getOwnPropertyDescriptor(process.stderr, 'isTTY'),
  };
  const out: string[] = [];
  const err: string[] = [];
  let exitCode: number | undefined;
  const capture = (into: string[]): Write =>
    ((chunk: string | Uint8Array, encoding?: unknown, callback?: unknown) => {
      if (exitCode === undefined) into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done as () => void);
      return true;
    }) as Write;

  const childEnv: NodeJS.ProcessEnv = { ...saved.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  process.argv = [process.execPath, bin, ...args];
  process.env = childEnv;
  process.exitCode = undefined;
  process.exit = ((code?: number | string | null) => {
    exitCode ??= Number(code ?? process.exitCode ?? 0);
    throw new ProcessExit(exitCode);
  }) as typeof process.exit;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  Object.defineProperty(process.stdout, 'isTTY', { value: undefined, configurable: true, writable: true });
  Object.defineProperty(process.stderr, 'isTTY', { value: undefined, configurable: true, writable: true });
  try {
    await import(`${pathToFileURL(bin).href}?run=${++runs}`);
  } catch (error) {
    if (!(error instanceof ProcessExit)) throw error;
  } finally {
    // Output a command's last callbacks write (a progress bar's final line) still belongs to it.
    await new Promise((resolve) => setImmediate(resolve));
    exitCode ??= Number(process.exitCode ?? 0);
    process.argv = saved.argv;
    process.env = saved.env;
    process.exit = saved.exit;
    process.exitCode = saved.exitCode;
    process.stdout.write = saved.stdoutWrite;
    process.stderr.write = saved.stderrWrite;
    restore(process.stdout, 'isTTY', saved.stdoutTTY);
    restore(process.stderr, 'isTTY', saved.stderrTTY);
  }
  return { code: exitCode, stdout: out.join(''), stderr: err.join('') };
}

function restore(target: object, key: string, descriptor: PropertyDescriptor | undefined): void {
  if (descriptor) Object.defineProperty(target, key, descriptor);
  else delete (target as Record<string, unknown>)[key];
}
