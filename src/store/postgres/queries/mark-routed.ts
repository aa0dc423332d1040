/**
 * Marks events routed and creates their deliveries in ONE statement: the
 * deliveries are inserted only for the events this statement itself moved
 * from unrouted to routed. Two processes routing the same event at once (a
 * claim that expired mid-way) both run the conditional update; PostgreSQL
 * makes the second wait for the first's row lock and then re-check
 * `routed_at IS NULL`, which no longer holds, so the event gets one set of
 * deliveries, never two, and never none.
 *
 * Events of rules that batch (group, digest, throttle) join their batch in
 * the same statement: the batches are upserted once per key (ON CONFLICT DO
 * UPDATE may touch a row once per statement, so the entries are counted per
 * batch first), and the events linked to them. A batch with nothing pending
 * becomes due at its entry's first due time, or for a group whose last
 * message went out less than an interval ago, at that message plus the
 * interval (sqlite/batches.ts addToBatch does the same).
 */
import type { EventRouting } from '../../store.js';
import type { Db } from '../connection.js';
import { insertNewDeliveries, newDeliveryColumns } from './add-deliveries.js';
import { batchEntryColumns } from './add-to-batches.js';

// $1-$3: the routings; $4-$11: the deliveries' columns; $12: now (ms).
// $13-$24: the batch entries of rules that group, digest or throttle.
const MARK_ROUTED = `
WITH routed AS (
  UPDATE events e
  SET routed_at = to_timestamp($12::float8 / 1000), rules_version = r.rules_version, routing_errors = r.routing_errors::json,
      route_claimed_by = NULL, route_claim_expires_at = NULL
  FROM unnest($1::text[], $2::text[], $3::text[]) AS r(event_id, rules_version, routing_errors)
  WHERE e.id = r.event_id AND e.routed_at IS NULL
  RETURNING e.id
), delivered AS (${insertNewDeliveries(4, 'WHERE d.event_id IN (SELECT id FROM routed)')}
), entries AS (
  SELECT b.* FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
                         $21::bigint[], $22::bigint[], $23::bigint[], $24::text[])
    AS b(event_id, rule, destination, template, key, key_label, key_values, spec, first_due_at, interval_ms, now, new_id)
  WHERE b.event_id IN (SELECT id FROM routed)
), per_batch AS (
  SELECT rule, destination, template, key, count(*)::int AS n, min(first_due_at) AS first_due_at, max(interval_ms) AS interval_ms,
         max(now) AS now, min(new_id) AS new_id, (array_agg(key_label ORDER BY event_id DESC))[1] AS key_label,
         (array_agg(key_values ORDER BY event_id DESC))[1] AS key_values, (array_agg(spec ORDER BY event_id DESC))[1] AS spec
  FROM entries GROUP BY rule, destination, template, key
), batched AS (
  INSERT INTO batches AS t (id, rule, destination, template, key, key_label, key_values, spec, pending, due_at)
  SELECT new_id, rule, destination, template, key, key_label, key_values::json, spec::json, n, first_due_at FROM per_batch p
  ON CONFLICT (rule, destination, template, key) DO UPDATE SET
    pending = t.pending + excluded.pending,
    spec = excluded.spec, key_label = excluded.key_label, key_values = excluded.key_values,
    due_at = COALESCE(t.due_at, (SELECT CASE WHEN t.last_sent_at IS NOT NULL AND t.last_sent_at + p.interval_ms > p.now
                                             THEN t.last_sent_at + p.interval_ms ELSE p.first_due_at END
                                 FROM per_batch p WHERE (p.rule, p.destination, p.template, p.key) = (t.rule, t.destination, t.template, t.key)))
  RETURNING t.id, t.rule, t.destination, t.template, t.key
)
INSERT INTO batch_events (batch_id, event_id)
SELECT b.id, e.event_id FROM batched b JOIN entries e USING (rule, destination, template, key)
ON CONFLICT DO NOTHING`;

export async function markRouted(db: Db, routings: readonly EventRouting[], now: number): Promise<void> {
  if (routings.length === 0) return;
  const deliveries = routings.flatMap((r) => r.deliveries.map((d) => ({ ...d, eventId: r.eventId })));
  const entries = routings.flatMap((r) => (r.batched ?? []).map((b) => ({ ...b, eventId: r.eventId })));
  await db.query(
    MARK_ROUTED,
    [
      routings.map((r) => r.eventId),
      routings.map((r) => r.rulesVersion),
      routings.map((r) => (r.errors?.length ? JSON.stringify(r.errors) : null)),
      ...newDeliveryColumns(deliveries),
      now,
      ...batchEntryColumns(entries),
    ],
    'herald.mark-routed',
  );
}
