/**
 * New deliveries, pending or dead (a template that failed to render), from
 * arrays in one statement: for events already routed (a replay, which keeps
 * the earlier deliveries, and may add the events to batches again) here, and
 * for the events mark-routed.ts routes.
 */
import type { AddedDeliveries, NewDelivery } from '../../store.js';
import { messageText } from '../../rows.js';
import type { Db, Param } from '../connection.js';
import { addToBatches } from './add-to-batches.js';

/**
 * The INSERT of new deliveries, its parameters numbered from `$first`: the
 * eight arrays of newDeliveryColumns(), then the time (ms). `from` may narrow
 * the rows (mark-routed.ts keeps those of the events it routed).
 */
export function insertNewDeliveries(first: number, where = ''): string {
  const $ = (i: number) => `$${first + i}`;
  return `
INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at,
                        created_at, updated_at, last_error)
SELECT d.id, d.event_id, d.rule, d.destination, d.template, d.message::json, d.status, ${$(8)}, ${$(8)}, ${$(8)}, d.error
FROM unnest(${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `${$(i)}::text[]`).join(', ')})
  AS d(id, event_id, rule, destination, template, message, status, error)
${where}`.trimEnd();
}

/** The eight column arrays insertNewDeliveries() takes, in its order. */
export function newDeliveryColumns(deliveries: ReadonlyArray<NewDelivery & { eventId: string }>): Param[] {
  const column = (pick: (d: (typeof deliveries)[number]) => string | null) => deliveries.map(pick);
  return [
    column((d) => d.id),
    column((d) => d.eventId),
    column((d) => d.rule),
    column((d) => d.destination),
    column((d) => d.template),
    column((d) => messageText(d.message)),
    column((d) => d.status),
    column((d) => d.error ?? null),
  ];
}

const ADD_DELIVERIES = insertNewDeliveries(1);

/** The same, and the replayed events that changed (a session fetched again) written in their place: one statement, so one transaction. */
const ADD_DELIVERIES_REPLACING_EVENTS = `
WITH replaced AS (
  UPDATE events SET body = r.body::json, outcome = r.outcome
  FROM unnest($10::text[], $11::text[], $12::text[]) AS r(id, body, outcome)
  WHERE events.id = r.id)
${insertNewDeliveries(1)}`;

/**
 * The deliveries, and the events a replay changed, in one statement; with
 * batch entries (add-to-batches.ts), in one transaction with them.
 */
export async function addDeliveries(db: Db, additions: readonly AddedDeliveries[], now: number): Promise<void> {
  const deliveries = additions.flatMap((a) => a.deliveries.map((d) => ({ ...d, eventId: a.eventId })));
  const replacing = additions.filter((a) => a.event !== undefined);
  const entries = additions.flatMap((a) => (a.batched ?? []).map((b) => ({ ...b, eventId: a.eventId })));
  const insert = async (on: Db) => {
    if (replacing.length > 0) {
      const replaced = [replacing.map((a) => a.eventId), replacing.map((a) => JSON.stringify(a.event)), replacing.map((a) => a.event!.outcome)];
      await on.query(ADD_DELIVERIES_REPLACING_EVENTS, [...newDeliveryColumns(deliveries), now, ...replaced]);
    } else if (deliveries.length > 0) {
      await on.query(ADD_DELIVERIES, [...newDeliveryColumns(deliveries), now]);
    }
  };
  if (entries.length === 0) return insert(db);
  await db.transaction(async (tx) => {
    await insert(tx);
    await addToBatches(tx, entries);
  });
}
