/**
 * herald's logger: JSON lines (pino), written asynchronously so logging never
 * blocks the request path. HERALD_LOG_LEVEL sets the level (default info).
 * Never log a secret, a request body or a header value: callers log ids,
 * names, statuses and reasons.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Defence in depth: should a secret-bearing field ever be logged by mistake,
 * pino censors it (URLs too: a Slack webhook URL is a secret).
 */
export const LOG_REDACTIONS = ['*.headers', '*.secret', '*.secrets', '*.token', '*.tokens', '*.password', '*.url', '*.smtp', '*.authorization'];

export function createLogger(level = process.env.HERALD_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    { level, base: { service: 'herald' }, redact: { paths: LOG_REDACTIONS, censor: '[redacted]' } },
    pino.destination({ sync: false, minLength: 4096 }),
  );
}

/** A logger that writes nothing: for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
