/**
 * How the `herald` command ends when something stops it: one line on stderr,
 * `herald: <what happened and what to do>`, and an exit code scripts can act on
 * (README, "Exit codes"). A stack trace is printed only for what herald did not
 * expect: that is a bug to report.
 */
import { ConfigError, StoreOpenError, StoreUnavailableError } from '../core/errors.js';
import { printable, printableLines } from './table.js';

export const EXIT = {
  /** The command failed: a config error, a failed check, a wrong argument, an unknown id. */
  failed: 1,
  /** An input it was given cannot be used: a payload file missing or not JSON, an unknown sample. */
  input: 2,
  /** The store cannot be used: unreachable, cannot be created, does not exist, or its schema is not this herald's. */
  store: 3,
  /** The network: the port to listen on is taken, or the herald to talk to does not answer. */
  network: 4,
} as const;

/** A failure the user can act on: its message is the whole story. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Prints `error` for people and exits with its code. */
export function exitWith(error: unknown): never {
  const known = asCliError(error);
  if (known) {
    // One line: control characters in it (a path, an answer quoted) are written out; a config error keeps its lines.
    process.stderr.write(`herald: ${known.exitCode === EXIT.failed ? printableLines(known.message) : printable(known.message)}\n`);
    process.exit(known.exitCode);
  }
  process.stderr.write(`herald: unexpected error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(70);
}

function asCliError(error: unknown): CliError | undefined {
  if (error instanceof CliError) return error;
  // Config errors list every problem, one per line, under their own heading.
  if (error instanceof ConfigError) return new CliError(error.message, EXIT.failed);
  if (error instanceof StoreOpenError || error instanceof StoreUnavailableError) return new CliError(error.message, EXIT.store);
  return undefined;
}
