/**
 * herald's logger: JSON lines (pino), written asynchronously so logging never
 * blocks the request path. HERALD_LOG_LEVEL sets the level (default info).
 * Never log a secret, a request body or a header value: callers log ids,
 * names, statuses and reasons.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

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

export function createLogger(
  level = process.env.HERALD_LOG_LEVEL ?? 'info',
  destination: DestinationStream = pino.destination({ sync: false, minLength: 4096 }),
): Logger {
  return pino({ level, base: { service: 'herald' }, formatters: { log: censorSecrets } }, destination);
}

/** A logger that writes nothing: for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
