/**
 * Batches (rules with group, digest or throttle) on PostgreSQL. A due batch
 * is claimed graphile-worker style (FOR UPDATE SKIP LOCKED, then a claim that
 * expires), so with several processes each batch is sent by one; completing
 * it is ONE statement that only the claimant's claim lets through, so a
 * process whose claim expired and was taken over adds nothing.
 */
import type { NormalizedEvent } from '../../../core/event.js';
import type { Batch, BatchClaimRequest, BatchCompletion, BatchSchedule } from '../../store.js';
import { newEventId } from '../../../core/ids.js';
import type { Db } from '../connection.js';
import type { BatchSpec } from '../../../core/rules.js';

interface BatchRow {
  id: string;
  rule: string;
  destination: string;
  template: string;
  key: string;
  key_label: string;
  key_values: Record<string, unknown>;
  spec: BatchSpec;
  due_at: number | null;
  last_sent_at: number | null;
  window_start: number | null;
  window_sent: number;
  suppressed: number;
}

const CLAIM_BATCHES = `
UPDATE batches SET claimed_by = $1, claim_expires_at = $2::bigint + $3::bigint
WHERE id IN (
  SELECT id FROM batches
  WHERE due_at <= $2 AND (claim_expires_at IS NULL OR claim_expires_at <= $2)
  ORDER BY due_at, id
  LIMIT $4
  FOR UPDATE SKIP LOCKED)
RETURNING *`;

const BATCH_EVENTS = 'SELECT batch_id, event_id FROM batch_events WHERE batch_id = ANY($1::text[]) ORDER BY event_id';

export async function claimBatches(db: Db, { claimant, now, claimTtlMs, limit }: BatchClaimRequest): Promise<Batch[]> {
  const rows = await db.rows<BatchRow>(CLAIM_BATCHES, [claimant, now, claimTtlMs, limit], 'herald.claim-batches');
  if (rows.length === 0) return [];
  const links = await db.rows<{ batch_id: string; event_id: string }>(BATCH_EVENTS, [rows.map((r) => r.id)]);
  return rows
    .map((row) => ({
      id: row.id,
      rule: row.rule,
      destination: row.destination,
      template: row.template,
      key: row.key,
      keyLabel: row.key_label,
      keyValues: row.key_values,
      spec: row.spec,
      dueAt: row.due_at,
      lastSentAt: row.last_sent_at,
      windowStart: row.window_start,
      windowSent: row.window_sent,
      suppressed: row.suppressed,
      eventIds: links.filter((l) => l.batch_id === row.id).map((l) => l.event_id),
    }))
    .sort((a, b) => (a.dueAt ?? 0) - (b.dueAt ?? 0) || (a.id < b.id ? -1 : 1));
}

const COMPLETE_BATCH = `
WITH b AS (
  UPDATE batches SET pending = pending - $3::int,
    due_at = CASE WHEN pending - $3::int > 0 THEN $4::bigint ELSE $5::bigint END,
    last_sent_at = COALESCE($6::bigint, last_sent_at), window_start = $7::bigint, window_sent = $8::int, suppressed = $9::int,
    claimed_by = NULL, claim_expires_at = NULL
  WHERE id = $1 AND claimed_by = $2
  RETURNING id
), unlinked AS (
  DELETE FROM batch_events WHERE batch_id IN (SELECT id FROM b) AND event_id = ANY($10::text[])
), stored_event AS (
  INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at, provider_event_id, dedupe_key,
                      body, routed_at, rules_version)
  SELECT e.id, e.source, e.provider, e.type, e.category, e.outcome, e.subject, e.time, e."receivedAt"::timestamptz, NULL, e.id,
         $11::json, e."receivedAt"::timestamptz, 'batch'
  FROM json_to_record($11::json) AS e(id text, source text, provider text, type text, category text, outcome text, subject text,
                                      time text, "receivedAt" text)
  WHERE $11::json IS NOT NULL AND EXISTS (SELECT 1 FROM b)
), delivered AS (
  INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at, created_at, updated_at, last_error)
  SELECT d.id, d.event_id, d.rule, d.destination, d.template, d.message::json, d.status, $20, $20, $20, d.error
  FROM unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[])
    AS d(id, event_id, rule, destination, template, message, status, error)
  WHERE EXISTS (SELECT 1 FROM b)
)
SELECT count(*)::int AS n FROM b`;

export async function completeBatch(db: Db, claimant: string, c: BatchCompletion, now: number): Promise<boolean> {
  const d = c.deliveries;
  const [row] = await db.rows<{ n: number }>(
    COMPLETE_BATCH,
    [
      c.batchId,
      claimant,
      c.consumed.length,
      c.dueIfPending,
      c.dueIfEmpty,
      c.sentAt,
      c.windowStart,
      c.windowSent,
      c.suppressed,
      c.consumed,
      c.event ? JSON.stringify(c.event satisfies NormalizedEvent) : null,
      d.map((x) => x.id),
      d.map((x) => x.eventId),
      d.map((x) => x.rule),
      d.map((x) => x.destination),
      d.map((x) => x.template),
      d.map((x) => (x.message === null ? null : JSON.stringify(x.message))),
      d.map((x) => x.status),
      d.map((x) => x.error ?? null),
      now,
    ],
    'herald.complete-batch',
  );
  return (row?.n ?? 0) > 0;
}

const SCHEDULE_BATCH = `
INSERT INTO batches AS t (id, rule, destination, template, key, key_label, key_values, spec, due_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8::json, $9)
ON CONFLICT (rule, destination, template, key) DO UPDATE SET spec = excluded.spec, due_at = COALESCE(t.due_at, excluded.due_at)`;

export async function scheduleBatch(db: Db, s: BatchSchedule): Promise<void> {
  await db.query(SCHEDULE_BATCH, [
    newEventId(),
    s.rule,
    s.destination,
    s.template,
    s.key,
    s.keyLabel,
    JSON.stringify(s.keyValues),
    JSON.stringify(s.spec),
    s.dueAt,
  ]);
}

/** A claimed batch falls due again when its claim expires, if it is not completed before. */
const NEXT_BATCH_DUE = `
SELECT min(GREATEST(due_at, COALESCE(claim_expires_at, due_at))) AS due FROM batches WHERE due_at IS NOT NULL`;

export async function nextBatchDueAt(db: Db): Promise<number | undefined> {
  const [row] = await db.rows<{ due: number | null }>(NEXT_BATCH_DUE);
  return row?.due ?? undefined;
}
