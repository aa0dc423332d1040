/**
 * Retention: deletes old events in bounded batches, so pruning a month of
 * events never holds locks or bloats one transaction for long. Deliveries and
 * attempts go with their event (ON DELETE CASCADE); an event waiting in a
 * batch stays until its batch is sent. Rows another process is
 * pruning at the same moment are skipped, not waited for.
 */
import type { Db } from '../connection.js';

const PRUNE_EVENTS = `
DELETE FROM events WHERE id IN (
  SELECT id FROM events e
  WHERE received_at < to_timestamp($1::float8 / 1000) AND routed_at IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
    AND NOT EXISTS (SELECT 1 FROM batch_events b WHERE b.event_id = e.id)
  ORDER BY received_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

const PRUNE_DEDUPE_KEYS = `
DELETE FROM event_dedupe WHERE (source, dedupe_key) IN (
  SELECT source, dedupe_key FROM event_dedupe WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`;

export async function pruneEvents(db: Db, receivedBeforeMs: number, batchSize: number): Promise<number> {
  return (await db.query(PRUNE_EVENTS, [receivedBeforeMs, batchSize])).rowCount ?? 0;
}

export async function pruneDedupeKeys(db: Db, expiredBeforeMs: number, batchSize: number): Promise<number> {
  return (await db.query(PRUNE_DEDUPE_KEYS, [expiredBeforeMs, batchSize])).rowCount ?? 0;
}
