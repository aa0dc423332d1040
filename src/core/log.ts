/**
 * herald's logger: JSON lines (pino), written asynchronously so logging never
 * blocks the request path. HERALD_LOG_LEVEL sets the level (default info).
 * Never log a secret, a request body or a header value: callers log ids,
 * names, statuses and reasons.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.HERALD_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { service: 'herald' } }, pino.destination({ sync: false, minLength: 4096 }));
}

/** A logger that writes nothing: for tests and one-shot CLI commands. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
