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
import { insertNewDeliveries, newDeliveryColumns } from './add-deliveries.js';

// $1-$3: the routings; $4-$11: the deliveries' columns; $12: now (ms).
const MARK_ROUTED = `
WITH routed AS (
  UPDATE events e
  SET routed_at = to_timestamp($12::float8 / 1000), rules_version = r.rules_version, routing_errors = r.routing_errors::json,
      route_claimed_by = NULL, route_claim_expires_at = NULL
  FROM unnest($1::text[], $2::text[], $3::text[]) AS r(event_id, rules_version, routing_errors)
  WHERE e.id = r.event_id AND e.routed_at IS NULL
  RETURNING e.id
)${insertNewDeliveries(4, 'WHERE d.event_id IN (SELECT id FROM routed)')}`;

export async function markRouted(db: Db, routings: readonly EventRouting[], now: number): Promise<void> {
  if (routings.length === 0) return;
  const deliveries = routings.flatMap((r) => r.deliveries.map((d) => ({ ...d, eventId: r.eventId })));
  await db.query(MARK_ROUTED, [
    routings.map((r) => r.eventId), routings.map((r) => r.rulesVersion),
    routings.map((r) => (r.errors?.length ? JSON.stringify(r.errors) : null)),
    ...newDeliveryColumns(deliveries), now,
  ], 'herald.mark-routed');
}
