/**
 * Stores a batch of events in ONE statement (one round trip, one transaction):
 * each event's dedupe key is claimed in event_dedupe, and only the events
 * whose claim won are inserted.
 *
 * The key claim is an upsert that always touches the row: a known, unexpired
 * key keeps its event id, an expired one is taken over. Always updating (rather
 * than `DO UPDATE ... WHERE expired`) makes RETURNING name the winning event
 * for every key, even one another process committed a moment ago, which a
 * separate SELECT in the same statement could not see (its snapshot is older).
 * Rows are upserted in one order, (source, key), in every process, so two
 * concurrent batches lock keys in the same order and never deadlock.
 */
import type { InsertResult, NewEvent } from '../../store.js';
import type { Db } from '../connection.js';

const INSERT_EVENTS = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                       $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $15::bigint[])
    WITH ORDINALITY AS t(id, source, provider, type, category, outcome, subject, time, received_at,
                         provider_event_id, dedupe_key, body, expires_at, enrich_due_at, ord)
), keys AS (
  INSERT INTO event_dedupe AS known (source, dedupe_key, event_id, expires_at)
  SELECT source, dedupe_key, id, expires_at FROM input ORDER BY ord
  ON CONFLICT (source, dedupe_key) DO UPDATE SET
    event_id   = CASE WHEN known.expires_at <= $14 THEN excluded.event_id   ELSE known.event_id   END,
    expires_at = CASE WHEN known.expires_at <= $14 THEN excluded.expires_at ELSE known.expires_at END
  RETURNING known.source, known.dedupe_key, known.event_id
), stored AS (
  INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at,
                      provider_event_id, dedupe_key, body, enrich_due_at)
  SELECT i.id, i.source, i.provider, i.type, i.category, i.outcome, i.subject, i.time, i.received_at::timestamptz,
         i.provider_event_id, i.dedupe_key, i.body::json, i.enrich_due_at
  FROM input i JOIN keys k ON k.event_id = i.id
)
SELECT source, dedupe_key, event_id FROM keys`;

/** Stores what it can of `batch`; the results are in the batch's order. */
export async function insertEvents(db: Db, batch: readonly NewEvent[], now: number): Promise<InsertResult[]> {
  // One upsert cannot touch a row twice: a key repeated within the batch is
  // sent once, and its repeats share the answer (the first is stored, the rest are duplicates).
  const firsts = new Map<string, NewEvent>();
  for (const item of batch) {
    const key = keyOf(item);
    if (!firsts.has(key)) firsts.set(key, item);
  }
  const unique = [...firsts.values()].sort((a, b) => compare(a.event.source, b.event.source) || compare(a.dedupeKey, b.dedupeKey));
  const column = <T>(pick: (item: NewEvent) => T) => unique.map(pick);
  const rows = await db.rows<{ source: string; dedupe_key: string; event_id: string }>(
    INSERT_EVENTS,
    [
      column((i) => i.event.id),
      column((i) => i.event.source),
      column((i) => i.event.provider),
      column((i) => i.event.type),
      column((i) => i.event.category),
      column((i) => i.event.outcome),
      column((i) => i.event.subject),
      column((i) => i.event.time),
      column((i) => i.event.receivedAt),
      column((i) => i.event.providerEventId),
      column((i) => i.dedupeKey),
      column((i) => JSON.stringify(i.event)),
      column((i) => i.dedupeUntilMs),
      now,
      column((i) => i.enrichDueAtMs ?? null),
    ],
    'herald.insert-events',
  );
  const winners = new Map(rows.map((r) => [`${r.source}\u0000${r.dedupe_key}`, r.event_id]));
  return batch.map((item): InsertResult => {
    const winner = winners.get(keyOf(item));
    if (winner === undefined) throw new Error(`the store did not answer for dedupe key ${item.dedupeKey} of ${item.event.source}`);
    const first = firsts.get(keyOf(item))!;
    return winner === item.event.id && first === item ? { status: 'stored', id: winner } : { status: 'duplicate', id: winner };
  });
}

/** The key as PostgreSQL stores and returns it (U+0000 becomes U+FFFD: see connection.ts). */
function keyOf(item: NewEvent): string {
  return `${item.event.source.replaceAll('\u0000', '\uFFFD')}\u0000${item.dedupeKey.replaceAll('\u0000', '\uFFFD')}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
