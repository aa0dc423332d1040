/**
 * The operations commands (events, dlq, replay) work directly on the store the
 * config names: no running herald is needed. With PostgreSQL any number of
 * processes share it; a SQLite file is owned by one running herald, but WAL
 * mode lets these commands read it and write short transactions meanwhile (a
 * write waits up to a second for the herald's lock).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../core/duration.js';
import { openStore } from '../main.js';
import type { Store } from '../store/store.js';
import { loadConfigOrExit } from './config-option.js';

/** Opens the config's store (schema brought up to date), runs `work`, and closes it. */
export async function withConfigStore<T>(command: Command, work: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(loadConfigOrExit(command).store);
  try {
    await store.migrate();
    return await work(store);
  } finally {
    await store.close();
  }
}

/** `--since` and friends: an RFC 3339 time, or a duration back from now (`24h`, `7d`). Returns RFC 3339. */
export function parseSince(text: string, command: Command, option = '--since'): string {
  if (/^[0-9]+(ms|s|m|h|d)$/.test(text)) return new Date(Date.now() - parseDuration(text)).toISOString();
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) command.error(`${option} takes a time (2026-01-31T12:00:00Z) or a duration back from now (24h, 7d), not "${text}"`);
  return new Date(ms).toISOString();
}

/** `--limit`: a whole number from 1 to 1000. */
export function parseLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidArgumentError(`takes a whole number from 1 to 1000, not "${text}"`);
  return limit;
}

/** Prints JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
