/**
 * Adds events already routed to their batches again (a replay of events of
 * rules with group, digest or throttle), with mark-routed.ts's due-time
 * logic: a batch with nothing pending becomes due at the entry's first due
 * time, or for a group whose last message went out less than an interval
 * ago, at that message plus the interval; one with a due time keeps it.
 *
 * Unlike routing, a replay may find its event already pending in the batch:
 * that link is kept as it is (ON CONFLICT DO NOTHING on batch_events' key),
 * and `pending` counts only the links this replay made. So it takes two
 * statements in the caller's transaction: the first opens the batches (and
 * holds their rows locked until commit, so concurrent replays and routings
 * of the same batch wait) and links the events, returning the links it made;
 * the second counts those into `pending` and sets the due time.
 * Events not routed yet are left out: routing will batch them.
 */
import { newEventId } from '../../../core/ids.js';
import type { BatchEntry } from '../../store.js';
import type { Db, Param } from '../connection.js';

// $1-$12: the entries, as in mark-routed.ts. Returns, per batch, the links made and their entries' due-time inputs.
const LINK_TO_BATCHES = `
WITH entries AS (
  SELECT b.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])
    AS b(event_id, rule, destination, template, key, key_label, key_values, spec, first_due_at, interval_ms, now, new_id)
  WHERE b.event_id IN (SELECT id FROM events WHERE routed_at IS NOT NULL)
), per_batch AS (
  SELECT rule, destination, template, key, min(new_id) AS new_id, (array_agg(key_label ORDER BY event_id DESC))[1] AS key_label,
         (array_agg(key_values ORDER BY event_id DESC))[1] AS key_values, (array_agg(spec ORDER BY event_id DESC))[1] AS spec
  FROM entries GROUP BY rule, destination, template, key
), opened AS (
  INSERT INTO batches AS t (id, rule, destination, template, key, key_label, key_values, spec, pending, due_at)
  SELECT new_id, rule, destination, template, key, key_label, key_values::json, spec::json, 0, NULL FROM per_batch
  ORDER BY rule, destination, template, key
  ON CONFLICT (rule, destination, template, key) DO UPDATE SET
    spec = excluded.spec, key_label = excluded.key_label, key_values = excluded.key_values
  RETURNING t.id, t.rule, t.destination, t.template, t.key
), linked AS (
  INSERT INTO batch_events (batch_id, event_id)
  SELECT o.id, e.event_id FROM opened o JOIN entries e USING (rule, destination, template, key)
  ON CONFLICT DO NOTHING
  RETURNING batch_id, event_id
)
SELECT l.batch_id, count(DISTINCT l.event_id)::int AS n, min(e.first_due_at) AS first_due_at, max(e.interval_ms) AS interval_ms, max(e.now) AS now
FROM linked l JOIN opened o ON o.id = l.batch_id
  JOIN entries e ON (e.rule, e.destination, e.template, e.key, e.event_id) = (o.rule, o.destination, o.template, o.key, l.event_id)
GROUP BY l.batch_id`;

// $1-$5: per batch, the links made and their due-time inputs (LINK_TO_BATCHES' rows).
const COUNT_PENDING = `
UPDATE batches t SET
  pending = t.pending + l.n,
  due_at = COALESCE(t.due_at, CASE WHEN t.last_sent_at IS NOT NULL AND t.last_sent_at + l.interval_ms > l.now
                                   THEN t.last_sent_at + l.interval_ms ELSE l.first_due_at END)
FROM unnest($1::text[], $2::int[], $3::bigint[], $4::bigint[], $5::bigint[]) AS l(batch_id, n, first_due_at, interval_ms, now)
WHERE t.id = l.batch_id`;

interface Linked {
  batch_id: string;
  n: number;
  first_due_at: number;
  interval_ms: number;
  now: number;
}

/**
 * The batch entries as the twelve array parameters of a statement (event,
 * rule, destination, template, key, key label, key values, spec, first due
 * time, interval, now, and an id for a batch that does not exist yet): here
 * and in mark-routed.ts.
 */
export function batchEntryColumns(entries: ReadonlyArray<BatchEntry & { eventId: string }>): Param[] {
  const entry = <T>(pick: (b: (typeof entries)[number]) => T) => entries.map(pick);
  return [
    entry((b) => b.eventId),
    entry((b) => b.rule),
    entry((b) => b.destination),
    entry((b) => b.template),
    entry((b) => b.key),
    entry((b) => b.keyLabel),
    entry((b) => JSON.stringify(b.keyValues)),
    entry((b) => JSON.stringify(b.spec)),
    entry((b) => b.firstDueAt),
    entry((b) => b.intervalMs),
    entry((b) => b.now),
    entry(() => newEventId()),
  ];
}

/** Adds the events to their batches; run it inside a transaction (`tx`): its two statements commit together. */
export async function addToBatches(tx: Db, entries: ReadonlyArray<BatchEntry & { eventId: string }>): Promise<void> {
  if (entries.length === 0) return;
  const linked = await tx.rows<Linked>(LINK_TO_BATCHES, batchEntryColumns(entries));
  if (linked.length === 0) return;
  await tx.query(COUNT_PENDING, [
    linked.map((l) => l.batch_id),
    linked.map((l) => l.n),
    linked.map((l) => l.first_due_at),
    linked.map((l) => l.interval_ms),
    linked.map((l) => l.now),
  ]);
}
