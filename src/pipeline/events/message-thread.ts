/**
 * Which thread a message joins (README, "Threads"): decided at routing time and
 * stored with the rendered message, so every attempt, and a replay, lands in
 * the same conversation. Email and slack-app destinations thread; by default
 * every message about one subject (one FaceSign session, one KYC verification,
 * one facial ID) to one destination is one thread. `threadBy` on the notify
 * entry, else on the destination, names other event attributes; `false` turns
 * threads off.
 *
 * The key is a hash of the destination's name and the attribute values read
 * from the event as received (before any redaction, so a rule's `pii` setting
 * does not split a thread), so neither the store nor a mail header holds the
 * values themselves.
 */
import { createHash } from 'node:crypto';
import type { DestinationConfig } from '../../core/config.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { MessageThread, RenderedMessage } from '../../core/message.js';
import type { ThreadBy } from '../../core/rules.js';
import type { Notify } from '../../routing/rule.js';

/** What a destination threads by when neither it nor the rule says. */
export const DEFAULT_THREAD_BY = 'subject';

/** `message` with its thread, when its destination threads and the event has every attribute of the key. */
export function withThread(message: RenderedMessage, event: NormalizedEvent, notify: Notify, destination: DestinationConfig): RenderedMessage {
  if (message.channel === 'webhook') return message;
  const thread = threadOf(event, notify, destination);
  return thread ? { ...message, thread } : message;
}

/** The attribute paths a notification threads by, or undefined when it is not threaded. */
export function threadPaths(notify: Notify, destination: DestinationConfig): string[] | undefined {
  if (destination.type !== 'email' && destination.type !== 'slack-app') return undefined;
  const threadBy: ThreadBy = notify.threadBy ?? destination.options.threadBy ?? DEFAULT_THREAD_BY;
  if (threadBy === false) return undefined;
  return typeof threadBy === 'string' ? [threadBy] : threadBy;
}

/**
 * The thread of a message of a rule with group, digest or throttle: the one
 * thread of every event it is about, when they share one (a throttle's
 * message is about one event; a group by subject is about one subject). A
 * message about events of several threads, or about none (an empty digest),
 * is sent without a thread. `complete` says whether `events` are all the
 * message is about; when some are only counted (over `max`), they share the
 * thread only if the batch's key holds every path of the thread's.
 */
export function batchThread(
  events: readonly NormalizedEvent[],
  complete: boolean,
  batchBy: readonly string[],
  notify: Notify,
  destination: DestinationConfig,
): MessageThread | undefined {
  const paths = threadPaths(notify, destination);
  if (!paths || events.length === 0) return undefined;
  if (!complete && !paths.every((path) => batchBy.includes(path))) return undefined;
  const threads = events.map((event) => threadOf(event, notify, destination));
  const first = threads[0];
  return first && threads.every((thread) => thread?.key === first.key) ? first : undefined;
}

/** The thread of a notification, or undefined when it is not threaded. */
export function threadOf(event: NormalizedEvent, notify: Notify, destination: DestinationConfig): MessageThread | undefined {
  const paths = threadPaths(notify, destination);
  if (!paths) return undefined;
  const values = paths.map((path) => attributeAt(event, path));
  if (values.some((value) => value === undefined || value === null || value === '')) return undefined;
  const key = createHash('sha256')
    .update(JSON.stringify([destination.name, paths, values]))
    .digest('hex')
    .slice(0, 32);
  return {
    key,
    ...(notify.broadcast === true && { broadcast: true }),
    ...(notify.updateParent === true && { updateParent: true }),
  };
}

/** The value at a dotted path (`subject`, `data.session_id`), through own properties only (a payload may name `__proto__`). */
function attributeAt(event: NormalizedEvent, path: string): unknown {
  let node: unknown = event;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
