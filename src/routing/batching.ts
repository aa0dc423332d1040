/**
 * How a rule batches its events (README, "Grouping, digests and throttles"):
 * `group` (Alertmanager's group_by / group_wait / group_interval), `digest`
 * (one message per cron period or fixed period) and `throttle` (at most so
 * many messages per key and period). A rule with any of them does not send a
 * message per event: routing adds the event to a batch in the store, and the
 * batch stage (pipeline/stages/batch.ts) sends the batch's message when it is due.
 *
 * The spec is stored with each batch, so a batch opened under one config is
 * sent as it was opened even when the rule changes or goes away meanwhile.
 */
import { Cron } from 'croner';
import { closestMatch } from '../core/closest.js';
import { parseDuration } from '../core/duration.js';
import type { BatchSpec, RuleDefinition } from '../core/rules.js';

export type { BatchSpec } from '../core/rules.js';

/** The top-level attributes of a normalized event: what a `by` path starts with. */
export const EVENT_ATTRIBUTES = [
  'specversion',
  'id',
  'source',
  'provider',
  'type',
  'category',
  'outcome',
  'subject',
  'time',
  'receivedAt',
  'providerEventId',
  'media',
  'session',
  'enrichment',
  'datacontenttype',
  'data',
] as const;

export interface BatchingProblem {
  path: Array<string | number>;
  message: string;
}

/** The rule's batching, or undefined when it sends a message per event; problems a schema cannot see. */
export function compileBatching(def: RuleDefinition): { spec?: BatchSpec; problems: BatchingProblem[] } {
  const problems: BatchingProblem[] = [];
  const { group, digest, throttle } = def;
  if (!group && !digest && !throttle) return { problems };
  if (group && digest) problems.push({ path: ['digest'], message: 'a rule has group or digest, not both: a digest already gathers every event of its period' });
  const checkPaths = (paths: string[] | undefined, at: string) =>
    paths?.forEach((p, i) => {
      const head = p.split('.')[0]!;
      if ((EVENT_ATTRIBUTES as readonly string[]).includes(head)) return;
      const guess = closestMatch(head, EVENT_ATTRIBUTES);
      problems.push({
        path: [at, 'by', i],
        message: `"${p}" is not an event attribute: ${guess ? `did you mean "${guess}"?` : `a path starts with one of ${EVENT_ATTRIBUTES.join(', ')}`}`,
      });
    });
  checkPaths(group?.by, 'group');
  checkPaths(throttle?.by, 'throttle');
  const by = [...new Set([...(group?.by ?? []), ...(throttle?.by ?? [])])];
  const throttleSpec = throttle && { max: throttle.max, perMs: parseDuration(throttle.per) };
  let spec: BatchSpec;
  if (group) {
    spec = { kind: 'group', by, max: group.max, waitMs: parseDuration(group.wait), intervalMs: parseDuration(group.interval) };
  } else if (digest) {
    if ((digest.at === undefined) === (digest.every === undefined)) {
      problems.push({ path: ['digest'], message: 'a digest has either "at" (a cron expression) or "every" (a period), e.g. at: "0 9 * * 1-5" or every: 1h' });
    }
    if (digest.timezone !== undefined && !validTimezone(digest.timezone)) {
      problems.push({ path: ['digest', 'timezone'], message: `unknown time zone "${digest.timezone}": use an IANA name such as Europe/Berlin or UTC` });
    } else if (digest.at !== undefined) {
      const error = cronError(digest.at, digest.timezone);
      if (error)
        problems.push({
          path: ['digest', 'at'],
          message: `"${digest.at}" is not a cron expression herald can read (${error}): write minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"`,
        });
    }
    const everyMs = digest.every === undefined ? undefined : parseDuration(digest.every);
    if (everyMs === 0) problems.push({ path: ['digest', 'every'], message: 'a digest period must be longer than 0' });
    spec = {
      kind: 'digest',
      by,
      max: digest.max,
      digest: {
        ...(digest.at !== undefined && { at: digest.at }),
        ...(digest.timezone !== undefined && { timezone: digest.timezone }),
        ...(everyMs !== undefined && { everyMs }),
        sendEmpty: digest.sendEmpty,
      },
    };
  } else {
    spec = { kind: 'throttle', by, max: 1 };
  }
  if (throttleSpec) spec.throttle = throttleSpec;
  if (def.pii) spec.pii = def.pii;
  return { spec, problems };
}

function validTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function cronError(pattern: string, timezone: string | undefined): string | undefined {
  try {
    new Cron(pattern, { timezone, paused: true }).stop();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The value at an attribute path, through own properties only; null when absent. */
export function attributeAt(event: unknown, path: string): unknown {
  let node: unknown = event;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return null;
    node = (node as Record<string, unknown>)[key];
  }
  return node === undefined ? null : node;
}

/** An event's key under a spec: the values at its `by` paths. */
export interface BatchKey {
  /** Stored and compared: the values as a JSON array. */
  id: string;
  /** For people and templates (`group.key`): the values joined by ", " (empty for a digest of everything). */
  label: string;
  /** Path -> value (`group.values`). */
  values: Record<string, unknown>;
}

export function batchKey(event: unknown, spec: BatchSpec): BatchKey {
  const values: Record<string, unknown> = {};
  for (const path of spec.by) values[path] = attributeAt(event, path);
  const list = spec.by.map((path) => values[path]);
  return {
    id: JSON.stringify(list),
    label: list.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', '),
    values,
  };
}

/** When a digest's next period ends strictly after `after` (ms). */
export function nextDigestAt(digest: NonNullable<BatchSpec['digest']>, after: number): number {
  if (digest.everyMs !== undefined) return (Math.floor(after / digest.everyMs) + 1) * digest.everyMs;
  const next = new Cron(digest.at!, { timezone: digest.timezone ?? 'UTC', paused: true }).nextRun(new Date(after));
  // A pattern that never fires again (a date in the past): never due.
  return next ? next.getTime() : Number.MAX_SAFE_INTEGER;
}

/**
 * When a batch that receives its first pending event at `now` is due: a group
 * after its wait (or at its last message plus the interval, when that is
 * later: see the store's upsert), a digest at its period's end, a throttle at
 * once.
 */
export function firstDueAt(spec: BatchSpec, now: number): number {
  if (spec.kind === 'group') return now + spec.waitMs!;
  if (spec.kind === 'digest') return nextDigestAt(spec.digest!, now);
  return now;
}
