/** New deliveries for events already routed (a replay), in one statement; the earlier deliveries are kept. */
import type { AddedDeliveries } from '../../store.js';
import type { Db } from '../connection.js';

const ADD_DELIVERIES = `
INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at,
                        created_at, updated_at, last_error)
SELECT d.id, d.event_id, d.rule, d.destination, d.template, d.message::json, d.status, $9, $9, $9, d.error
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
  AS d(id, event_id, rule, destination, template, message, status, error)`;

export async function addDeliveries(db: Db, additions: readonly AddedDeliveries[], now: number): Promise<void> {
  const deliveries = additions.flatMap((a) => a.deliveries.map((d) => ({ ...d, eventId: a.eventId })));
  if (deliveries.length === 0) return;
  const column = <T>(pick: (d: (typeof deliveries)[number]) => T) => deliveries.map(pick);
  await db.query(ADD_DELIVERIES, [
    column((d) => d.id), column((d) => d.eventId), column((d) => d.rule), column((d) => d.destination),
    column((d) => d.template), column((d) => (d.message === null ? null : JSON.stringify(d.message))),
    column((d) => d.status), column((d) => d.error ?? null), now,
  ]);
}
