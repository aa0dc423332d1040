/**
 * Copying between stores (`herald store copy`): events read out with their
 * dedupe key, deliveries and attempts, and written into another store.
 * Batches are small and rare, so statements are prepared per call.
 */
import type { Database } from 'better-sqlite3';
import type { NormalizedEvent } from '../../core/event.js';
import type { EventRecord, RoutingError } from '../store.js';
import { messageText, toAttempt, toDelivery, type AttemptRow, type DeliveryRow } from '../rows.js';

export function exportEventRecords(db: Database, after: string | undefined, limit: number): EventRecord[] {
  const events = db
    .prepare(
      `SELECT e.id, e.dedupe_key, e.body, e.routed_at, e.rules_version, e.routing_errors, k.expires_at, e.enrich_due_at
     FROM events e LEFT JOIN event_dedupe k ON k.source = e.source AND k.dedupe_key = e.dedupe_key AND k.event_id = e.id
     WHERE (@after IS NULL OR e.id > @after) ORDER BY e.id LIMIT @limit`,
    )
    .all({ after: after ?? null, limit }) as Array<{
    id: string;
    dedupe_key: string;
    body: string;
    routed_at: string | null;
    rules_version: string | null;
    routing_errors: string | null;
    expires_at: number | null;
    enrich_due_at: number | null;
  }>;
  const ids = JSON.stringify(events.map((e) => e.id));
  const deliveries = db.prepare('SELECT * FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY id').all(ids) as DeliveryRow[];
  const attempts = db
    .prepare(
      `SELECT a.* FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id IN (SELECT value FROM json_each(?)) ORDER BY a.delivery_id, a.attempt`,
    )
    .all(ids) as AttemptRow[];
  return events.map((e) => ({
    event: JSON.parse(e.body) as NormalizedEvent,
    dedupeKey: e.dedupe_key,
    dedupeUntilMs: e.expires_at,
    routedAt: e.routed_at,
    rulesVersion: e.rules_version,
    routingErrors: e.routing_errors ? (JSON.parse(e.routing_errors) as RoutingError[]) : [],
    enrichDueAtMs: e.enrich_due_at,
    deliveries: deliveries
      .filter((d) => d.event_id === e.id)
      .map((d) => ({
        delivery: toDelivery(d),
        attempts: attempts.filter((a) => a.delivery_id === d.id).map(toAttempt),
      })),
  }));
}

/** Runs inside the caller's transaction; returns how many events were new. */
export function importEventRecords(db: Database, records: readonly EventRecord[]): number {
  const insertEvent = db.prepare(
    `INSERT OR IGNORE INTO events (id, source, provider, type, category, outcome, subject, time, received_at,
                                   provider_event_id, dedupe_key, body, routed_at, rules_version, routing_errors, enrich_due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertKey = db.prepare('INSERT OR IGNORE INTO event_dedupe (source, dedupe_key, event_id, expires_at) VALUES (?, ?, ?, ?)');
  const insertDelivery = db.prepare(
    `INSERT OR IGNORE INTO deliveries (id, event_id, rule, destination, template, message, status, attempts, next_attempt_at,
                                       created_at, updated_at, last_error, retried_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertAttempt = db.prepare(
    `INSERT OR IGNORE INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status, reason, error, response_excerpt)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  let added = 0;
  for (const { event: e, dedupeKey, dedupeUntilMs, routedAt, rulesVersion, routingErrors, enrichDueAtMs, deliveries } of records) {
    added += insertEvent.run(
      e.id,
      e.source,
      e.provider,
      e.type,
      e.category,
      e.outcome,
      e.subject,
      e.time,
      e.receivedAt,
      e.providerEventId,
      dedupeKey,
      JSON.stringify(e),
      routedAt,
      rulesVersion,
      routingErrors?.length ? JSON.stringify(routingErrors) : null,
      enrichDueAtMs ?? null,
    ).changes;
    if (dedupeUntilMs !== null) insertKey.run(e.source, dedupeKey, e.id, dedupeUntilMs);
    for (const { delivery: d, attempts } of deliveries) {
      insertDelivery.run(
        d.id,
        d.eventId,
        d.rule,
        d.destination,
        d.template,
        messageText(d.message),
        d.status,
        d.attempts,
        d.nextAttemptAt,
        d.createdAt,
        d.updatedAt,
        d.lastError,
        d.retriedAt,
      );
      for (const a of attempts) {
        insertAttempt.run(a.deliveryId, a.attempt, a.startedAt, a.durationMs, a.outcome, a.status, a.reason, a.error, a.responseExcerpt);
      }
    }
  }
  return added;
}
