/**
 * Shared by the operations commands (events, dlq, replay, destinations):
 * where they work, the store the config names or a running herald's admin
 * API (`--api <url>` or HERALD_API_URL, the token in HERALD_ADMIN_TOKEN), and
 * their option parsers and JSON output.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../core/duration.js';
import { ApiBackend } from './api-backend.js';
import { OpsError, type OpsBackend } from './backend.js';
import { StoreBackend } from './store-backend.js';
import { printable } from '../table.js';

/**
 * `--api <url>`: work through a running herald instead of on the store. The
 * token is never an option: it would show in `ps` and the shell history.
 */
export function apiOption(): Option {
  return new Option('--api <url>', "a running herald's URL: work through its admin API (token from HERALD_ADMIN_TOKEN) instead of on the store").env(
    'HERALD_API_URL',
  );
}

/**
 * Opens the backend the command's options name, runs `work` with it and
 * closes it. An OpsError (unknown id, wrong token, herald unreachable) is
 * printed for the user and exits 1.
 */
export async function withOpsBackend<T>(command: Command, work: (ops: OpsBackend) => Promise<T>): Promise<T> {
  try {
    // An empty HERALD_API_URL= means the store, so one command can leave an exported URL aside.
    const { api } = command.opts<{ api?: string }>();
    const ops = api ? new ApiBackend(api, process.env.HERALD_ADMIN_TOKEN) : await StoreBackend.open(command);
    try {
      return await work(ops);
    } finally {
      await ops.close();
    }
  } catch (error) {
    // The message may quote a running herald's answer: shown, like all human output, without control characters.
    if (error instanceof OpsError) command.error(printable(error.message));
    throw error;
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
