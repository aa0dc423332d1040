/**
 * herald's logger (pino), set by the environment: HERALD_LOG_LEVEL (default
 * info) and HERALD_LOG_FORMAT, `json` (the default: one JSON object per line,
 * for log shippers) or `pretty` (one human-readable line per entry, colored
 * on a terminal, by pino-pretty). Lines are written asynchronously so logging
 * never blocks the request path. Never log a secret, a request body or a
 * header value: callers log ids, names, statuses and reasons.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type * as PinoPretty from 'pino-pretty';
import { lazyLibrary } from './lazy-library.js';

export type { Logger };

/** Loaded for HERALD_LOG_FORMAT=pretty only. */
const pinoPretty = lazyLibrary<typeof PinoPretty>('pino-pretty');

/**
 * Defence in depth: should a secret-bearing field ever be logged by mistake,
 * it is censored (URLs too: a Slack webhook URL is a secret).
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['headers', 'secret', 'secrets', 'token', 'tokens', 'password', 'url', 'smtp', 'authorization']);
const CENSORED = '[redacted]';

/**
 * Replaces secret-named fields of a log object, at its top level and one
 * level down, with `[redacted]`; the caller's object is never changed. This
 * is pino's `formatters.log`: pino's own `redact` option did the same with
 * wildcard paths at about 7% of herald's CPU while draining a backlog (the
 * benchmark's profile); this costs a loop over a line's few keys.
 */
export function censorSecrets(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const key in fields) {
    const value = fields[key];
    let censored: unknown = value;
    if (SECRET_FIELDS.has(key)) censored = CENSORED;
    else if (isPlainObject(value)) censored = censorLevel(value);
    if (censored !== value) {
      if (out === fields) out = { ...fields };
      out[key] = censored;
    }
  }
  return out;
}

function censorLevel(fields: Record<string, unknown>): Record<string, unknown> {
  let out = fields;
  for (const key in fields) {
    if (!SECRET_FIELDS.has(key)) continue;
    if (out === fields) out = { ...fields };
    out[key] = CENSORED;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LogSettings {
  level: string;
  format: LogFormat;
}

/** A log setting in the environment that herald cannot use. */
export class LogSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogSettingsError';
  }
}

/** Reads HERALD_LOG_LEVEL and HERALD_LOG_FORMAT; a LogSettingsError names a value that is neither. */
export function logSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): LogSettings {
  const level = env.HERALD_LOG_LEVEL || 'info';
  const levels = [...Object.keys(pino.levels.values), 'silent'];
  if (!levels.includes(level)) throw new LogSettingsError(`HERALD_LOG_LEVEL is one of ${levels.join(', ')}, not "${level}"`);
  const format = env.HERALD_LOG_FORMAT || 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    throw new LogSettingsError(`HERALD_LOG_FORMAT is "json" (the default) or "pretty", not "${format}"`);
  }
  return { level, format: format as LogFormat };
}

/** Somewhere to write lines; `flush` (a pino destination has it) lets shutdown wait for what is buffered. */
export interface LogDestination extends DestinationStream {
  flush?(callback: (error?: Error) => void): void;
}

/** The longest a buffered JSON line waits before it is written. */
export const LOG_FLUSH_MS = 1000;

/**
 * The logger; by default on stdout. JSON lines are buffered up to 4 KiB per
 * write (one system call for many lines under load), and written within
 * about LOG_FLUSH_MS of being logged, so a quiet herald's lines still show up
 * for whoever tails them; pretty lines are written at once, since someone is
 * watching them.
 */
export function createLogger(
  { level, format }: LogSettings = logSettingsFromEnv(),
  destination: LogDestination = pino.destination({ sync: false, minLength: format === 'pretty' ? 0 : 4096 }),
): Logger {
  let unflushed = false;
  const options = {
    level,
    base: { service: 'herald' },
    // Censoring runs before a line is serialized, so the pretty lines are made from censored ones.
    formatters: { log: censorSecrets },
    hooks: { streamWrite: (line: string) => ((unflushed = true), line) },
  };
  if (format === 'json' && destination.flush) {
    const flush = destination.flush.bind(destination);
    setInterval(() => {
      if (!unflushed) return;
      unflushed = false;
      flush(() => {});
    }, LOG_FLUSH_MS).unref();
  }
  return pino(options, format === 'pretty' ? prettyLines(destination) : destination);
}

/**
 * Turns each JSON line into a pretty one where it is logged, on the main
 * thread, and writes it to `destination`. The simplest of pino-pretty's
 * three ways (a pino transport runs it in a worker thread, its stream adds a
 * chain of Node streams): there is nothing in between to drain, so flushing
 * at shutdown, and pino's flush on exit, are the destination's own, as for
 * JSON lines. Formatting costs some tens of microseconds a line, which pretty output
 * (for people, not for log shippers) can afford.
 */
function prettyLines(destination: LogDestination): LogDestination {
  const prettify = pinoPretty().prettyFactory({
    // Colored when stdout is a terminal (pino-pretty's default; NO_COLOR and FORCE_COLOR are honoured).
    ignore: 'service',
    singleLine: true,
    translateTime: 'SYS:standard',
  });
  return {
    write: (line: string) => destination.write(prettify(line)),
    flush: (callback) => (destination.flush ? destination.flush(callback) : callback()),
  };
}

/** A logger that writes nothing: for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
