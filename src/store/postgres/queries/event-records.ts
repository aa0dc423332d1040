/**
 * Copying between stores (`herald store copy`): events read out with their
 * dedupe key, deliveries and attempts, and written in one transaction per
 * batch, each table in one statement over arrays. Rows that already exist are
 * kept (ON CONFLICT DO NOTHING), so a copy can be run again.
 */
import type { NormalizedEvent } from '../../../core/event.js';
import type { EventRecord, RoutingError } from '../../store.js';
import type { Db } from '../connection.js';
import { messageText, toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from '../../rows.js';

export async function exportEventRecords(db: Db, after: string | undefined, limit: number): Promise<EventRecord[]> {
  const events = await db.rows<{
    id: string;
    dedupe_key: string;
    body: NormalizedEvent;
    routed_at: Date | null;
    rules_version: string | null;
    routing_errors: RoutingError[] | null;
    expires_at: number | null;
    enrich_due_at: number | null;
  }>(
    `SELECT e.id, e.dedupe_key, e.body, e.routed_at, e.rules_version, e.routing_errors, k.expires_at, e.enrich_due_at
     FROM events e LEFT JOIN event_dedupe k ON k.source = e.source AND k.dedupe_key = e.dedupe_key AND k.event_id = e.id
     WHERE ($1::text IS NULL OR e.id > $1) ORDER BY e.id LIMIT $2`,
    [after ?? null, limit],
  );
  const ids = events.map((e) => e.id);
  const deliveries = await db.rows<DeliveryRow>('SELECT * FROM deliveries WHERE event_id = ANY($1::text[]) ORDER BY id', [ids]);
  const attempts = await db.rows<AttemptRow>(
    `SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id = ANY($1::text[]) ORDER BY a.delivery_id, a.attempt`,
    [ids],
  );
  return events.map((e) => ({
    event: e.body,
    dedupeKey: e.dedupe_key,
    dedupeUntilMs: e.expires_at,
    routedAt: e.routed_at?.toISOString() ?? null,
    rulesVersion: e.rules_version,
    routingErrors: e.routing_errors ?? [],
    enrichDueAtMs: e.enrich_due_at === null ? null : Number(e.enrich_due_at),
    deliveries: deliveries
      .filter((d) => d.event_id === e.id)
      .map((d) => ({
        delivery: toDelivery(d),
        attempts: attempts.filter((a) => a.delivery_id === d.id).map(toAttempt),
      })),
  }));
}

const IMPORT_EVENTS = `
INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at, provider_event_id,
                    dedupe_key, body, routed_at, rules_version, routing_errors, enrich_due_at)
SELECT id, source, provider, type, category, outcome, subject, time, received_at::timestamptz, provider_event_id,
       dedupe_key, body::json, routed_at::timestamptz, rules_version, routing_errors::json, enrich_due_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
            $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[])
  AS t(id, source, provider, type, category, outcome, subject, time, received_at, provider_event_id,
       dedupe_key, body, routed_at, rules_version, routing_errors, enrich_due_at)
ON CONFLICT (id) DO NOTHING`;

const IMPORT_KEYS = `
INSERT INTO event_dedupe (source, dedupe_key, event_id, expires_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
ON CONFLICT (source, dedupe_key) DO NOTHING`;

const IMPORT_DELIVERIES = `
INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, attempts, next_attempt_at,
                        created_at, updated_at, last_error, retried_at)
SELECT id, event_id, rule, destination, template, message::json, status, attempts, next_attempt_at,
       created_at, updated_at, last_error, retried_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[],
            $10::bigint[], $11::bigint[], $12::text[], $13::bigint[])
  AS t(id, event_id, rule, destination, template, message, status, attempts, next_attempt_at,
       created_at, updated_at, last_error, retried_at)
ON CONFLICT (id) DO NOTHING`;

const IMPORT_ATTEMPTS = `
INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status, reason, error, response_excerpt)
SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::int[], $7::text[], $8::text[], $9::text[])
ON CONFLICT (delivery_id, attempt) DO NOTHING`;

/** Returns how many events were new. */
export async function importEventRecords(db: Db, records: readonly EventRecord[]): Promise<number> {
  const events = records.map((r) => r.event);
  const keyed = records.filter((r) => r.dedupeUntilMs !== null);
  const deliveries = records.flatMap((r) => r.deliveries.map((d) => d.delivery));
  const attempts = records.flatMap((r) => r.deliveries.flatMap((d) => d.attempts));
  return db.transaction(async (tx) => {
    const added = await tx.query(IMPORT_EVENTS, [
      events.map((e) => e.id),
      events.map((e) => e.source),
      events.map((e) => e.provider),
      events.map((e) => e.type),
      events.map((e) => e.category),
      events.map((e) => e.outcome),
      events.map((e) => e.subject),
      events.map((e) => e.time),
      events.map((e) => e.receivedAt),
      events.map((e) => e.providerEventId),
      records.map((r) => r.dedupeKey),
      events.map((e) => JSON.stringify(e)),
      records.map((r) => r.routedAt),
      records.map((r) => r.rulesVersion),
      records.map((r) => (r.routingErrors?.length ? JSON.stringify(r.routingErrors) : null)),
      records.map((r) => r.enrichDueAtMs ?? null),
    ]);
    await tx.query(IMPORT_KEYS, [
      keyed.map((r) => r.event.source),
      keyed.map((r) => r.dedupeKey),
      keyed.map((r) => r.event.id),
      keyed.map((r) => r.dedupeUntilMs),
    ]);
    await tx.query(IMPORT_DELIVERIES, [
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.eventId),
      deliveries.map((d) => d.rule),
      deliveries.map((d) => d.destination),
      deliveries.map((d) => d.template),
      deliveries.map((d) => messageText(d.message)),
      deliveries.map((d) => d.status),
      deliveries.map((d) => d.attempts),
      deliveries.map((d) => d.nextAttemptAt),
      deliveries.map((d) => d.createdAt),
      deliveries.map((d) => d.updatedAt),
      deliveries.map((d) => d.lastError),
      deliveries.map((d) => d.retriedAt),
    ]);
    await tx.query(IMPORT_ATTEMPTS, [
      attempts.map((a) => a.deliveryId),
      attempts.map((a) => a.attempt),
      attempts.map((a) => a.startedAt),
      attempts.map((a) => Math.round(a.durationMs)),
      attempts.map((a) => a.outcome),
      attempts.map((a) => a.status),
      attempts.map((a) => a.reason),
      attempts.map((a) => a.error),
      attempts.map((a) => a.responseExcerpt),
    ]);
    return added.rowCount ?? 0;
  });
}
