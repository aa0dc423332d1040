/** Reading the admin API's inputs: query strings and JSON bodies, with 400s that say what was expected. */
import type { Context } from 'koa';
import type { NormalizedEvent } from '../core/event.js';
import getRawBody from 'raw-body';
import type { DeliveryStatus, EventFilter, ListOrder } from '../store/store.js';

/** A request input that does not fit: replied as 400 with the message. */
export class AdminInputError extends Error {}

const MAX_LIMIT = 1000;

/** A single query parameter, or undefined; a repeated one is an error. */
export function queryString(ctx: Context, name: string): string | undefined {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new AdminInputError(`give "${name}" once`);
  return value === undefined || value === '' ? undefined : value;
}

/** `limit`: 1 to 1000, 100 when absent. */
export function queryLimit(ctx: Context): number {
  const text = queryString(ctx, 'limit');
  if (text === undefined) return 100;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new AdminInputError(`"limit" is a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

/** `pii`: whether to show personal fields, "redact" (the default) or "include". */
export function queryPii(ctx: Context): 'redact' | 'include' {
  const pii = queryString(ctx, 'pii') ?? 'redact';
  if (pii !== 'redact' && pii !== 'include') throw new AdminInputError('"pii" is "include" (show personal fields, audited) or "redact" (the default)');
  return pii;
}

/** `dryRun`: "true" or "false" (the default). */
export function queryDryRun(ctx: Context): boolean {
  const dryRun = queryString(ctx, 'dryRun') ?? 'false';
  if (dryRun !== 'true' && dryRun !== 'false') throw new AdminInputError('"dryRun" is "true" (count only) or "false" (the default)');
  return dryRun === 'true';
}

/** `limit` in a body: 1 to 1000, `fallback` when absent. */
export function bodyLimit(body: Record<string, unknown>, fallback: number): number {
  const limit = body.limit;
  if (limit === undefined || limit === null) return fallback;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new AdminInputError(`"limit" is a whole number from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

/** A time (RFC 3339) from a query or body field, normalized to UTC. */
export function timeValue(name: string, text: unknown): string | undefined {
  if (text === undefined || text === null) return undefined;
  const ms = typeof text === 'string' ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) throw new AdminInputError(`"${name}" is a time, e.g. 2026-01-31T12:00:00Z`);
  return new Date(ms).toISOString();
}

/** The JSON object in the body; an empty body is `{}`. */
export async function jsonBody(ctx: Context): Promise<Record<string, unknown>> {
  const text = await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' });
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AdminInputError('the body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdminInputError('the body is a JSON object');
  return value as Record<string, unknown>;
}

/** An optional string field of a body. */
export function bodyString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AdminInputError(`"${name}" is a string`);
  return value;
}

/** `order`: "asc" (oldest first, the default) or "desc" (newest first). */
export function queryOrder(ctx: Context): ListOrder {
  const order = queryString(ctx, 'order') ?? 'asc';
  if (order !== 'asc' && order !== 'desc') throw new AdminInputError('"order" is "asc" (oldest first, the default) or "desc" (newest first)');
  return order;
}

const DELIVERY_STATES: readonly DeliveryStatus[] = ['pending', 'delivered', 'dead'];

/** `delivery`: only events with a delivery in this state. */
export function queryDeliveryState(ctx: Context): DeliveryStatus | undefined {
  const state = queryString(ctx, 'delivery');
  if (state === undefined) return undefined;
  if (!(DELIVERY_STATES as readonly string[]).includes(state)) throw new AdminInputError('"delivery" is "pending", "delivered" or "dead"');
  return state as DeliveryStatus;
}

/** An event listing's filter from the query (without its cursor and limit), as GET /api/events and the console read it. */
export function eventFilterFromQuery(ctx: Context): EventFilter {
  return {
    source: queryString(ctx, 'source'),
    provider: queryString(ctx, 'provider'),
    type: queryString(ctx, 'type'),
    category: queryString(ctx, 'category'),
    outcome: queryString(ctx, 'outcome'),
    subject: queryString(ctx, 'subject'),
    since: timeValue('since', queryString(ctx, 'since')),
    until: timeValue('until', queryString(ctx, 'until')),
    delivery: queryDeliveryState(ctx),
    order: queryOrder(ctx),
  };
}

/** `pii` in a body: whether to show personal fields, "redact" (the default) or "include". */
export function bodyPii(body: Record<string, unknown>): 'redact' | 'include' {
  const pii = bodyString(body, 'pii') ?? 'redact';
  if (pii !== 'redact' && pii !== 'include') throw new AdminInputError('"pii" is "include" (show personal fields, audited) or "redact" (the default)');
  return pii;
}

/** An optional list of strings in a body. */
export function bodyStrings(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new AdminInputError(`"${name}" is a list of strings`);
  return value as string[];
}

/** An event given whole to be tested against the rules: a normalized event, as GET /api/events/{id} shows it. */
export function eventToTest(value: unknown): NormalizedEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || (value as { specversion?: unknown }).specversion !== '1.0')
    throw new AdminInputError('"event" is a normalized event: a JSON object with "specversion": "1.0", as GET /api/events/{id} shows it');
  return value as NormalizedEvent;
}
