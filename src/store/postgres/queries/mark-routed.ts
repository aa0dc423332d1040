/**
 * Marks events routed and creates their deliveries in ONE statement: the
 * deliveries are inserted only for the events this statement itself moved
 * from unrouted to routed. Two processes routing the same event at once (a
 * claim that expired mid-way) both run the conditional update; PostgreSQL
 * makes the second wait for the first's row lock and then re-check
 * `routed_at IS NULL`, which no longer holds, so the event gets one set of
 * deliveries, never two, and never none.
 */
import type { EventRouting } from '../../store.js';
import type { Db } from '../connection.js';

const MARK_ROUTED = `
WITH routed AS (
  UPDATE events e
  SET routed_at = to_timestamp($11::float8 / 1000), rules_version = r.rules_version, routing_errors = r.routing_errors::json,
      route_claimed_by = NULL, route_claim_expires_at = NULL
  FROM unnest($1::text[], $2::text[], $12::text[]) AS r(event_id, rules_version, routing_errors)
  WHERE e.id = r.event_id AND e.routed_at IS NULL
  RETURNING e.id
)
INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at,
                        created_at, updated_at, last_error)
SELECT d.id, d.event_id, d.rule, d.destination, d.template, d.message::json, d.status, $11, $11, $11, d.error
FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
  AS d(id, event_id, rule, destination, template, message, status, error)
WHERE d.event_id IN (SELECT id FROM routed)`;

export async function markRouted(db: Db, routings: readonly EventRouting[], now: number): Promise<void> {
  if (routings.length === 0) return;
  const deliveries = routings.flatMap((r) => r.deliveries.map((d) => ({ ...d, eventId: r.eventId })));
  const column = <T>(pick: (d: (typeof deliveries)[number]) => T) => deliveries.map(pick);
  await db.query(MARK_ROUTED, [
    routings.map((r) => r.eventId), routings.map((r) => r.rulesVersion),
    column((d) => d.id), column((d) => d.eventId), column((d) => d.rule), column((d) => d.destination),
    column((d) => d.template), column((d) => (d.message === null ? null : JSON.stringify(d.message))),
    column((d) => d.status), column((d) => d.error ?? null), now,
    routings.map((r) => (r.errors?.length ? JSON.stringify(r.errors) : null)),
  ], 'herald.mark-routed');
}
