/**
 * Batches (rules with group, digest or throttle) in SQLite: the statements,
 * run by SqliteStore inside its write transactions. One process owns the
 * file and sends batches one at a time, so a claim needs no row of its own.
 */
import type Database from 'better-sqlite3';
import { newEventId } from '../../core/ids.js';
import type { BatchSpec } from '../../core/rules.js';
import type { Batch, BatchCompletion, BatchEntry, BatchSchedule } from '../store.js';

type Prepare = (sql: string) => Database.Statement;

export interface BatchRow {
  id: string;
  rule: string;
  destination: string;
  template: string;
  key: string;
  key_label: string;
  key_values: string;
  spec: string;
  due_at: number | null;
  last_sent_at: number | null;
  window_start: number | null;
  window_sent: number;
  suppressed: number;
}

/**
 * Adds an event to its batch, opening the batch when missing. A batch with
 * nothing pending becomes due at `firstDueAt`, or, for a group whose last
 * message went out less than an interval ago, at that message plus the
 * interval; one with a due time keeps it. An event already pending in the
 * batch (a replay of it) is left as it is: returns false.
 */
export function addToBatch(prepare: Prepare, eventId: string, entry: BatchEntry): boolean {
  const pending = prepare(
    `SELECT 1 FROM batch_events be JOIN batches b ON b.id = be.batch_id
     WHERE be.event_id = ? AND b.rule = ? AND b.destination = ? AND b.template = ? AND b.key = ?`,
  );
  if (pending.get(eventId, entry.rule, entry.destination, entry.template, entry.key) !== undefined) return false;
  const upsert = prepare(
    `INSERT INTO batches (id, rule, destination, template, key, key_label, key_values, spec, pending, due_at)
     VALUES (@id, @rule, @destination, @template, @key, @keyLabel, @keyValues, @spec, 1, @firstDueAt)
     ON CONFLICT (rule, destination, template, key) DO UPDATE SET
       pending = pending + 1, spec = excluded.spec, key_label = excluded.key_label, key_values = excluded.key_values,
       due_at = COALESCE(due_at, CASE WHEN last_sent_at IS NOT NULL AND last_sent_at + @intervalMs > @now
                                      THEN last_sent_at + @intervalMs ELSE @firstDueAt END)
     RETURNING id`,
  );
  const link = prepare('INSERT OR IGNORE INTO batch_events (batch_id, event_id) VALUES (?, ?)');
  const { id } = upsert.get({
    id: newEventId(),
    rule: entry.rule,
    destination: entry.destination,
    template: entry.template,
    key: entry.key,
    keyLabel: entry.keyLabel,
    keyValues: JSON.stringify(entry.keyValues),
    spec: JSON.stringify(entry.spec),
    firstDueAt: entry.firstDueAt,
    intervalMs: entry.intervalMs,
    now: entry.now,
  }) as { id: string };
  link.run(id, eventId);
  return true;
}

export function dueBatches(prepare: Prepare, limit: number, now: number): Batch[] {
  const rows = prepare('SELECT * FROM batches WHERE due_at <= ? ORDER BY due_at, id LIMIT ?').all(now, limit) as BatchRow[];
  const events = prepare('SELECT event_id FROM batch_events WHERE batch_id = ? ORDER BY event_id');
  return rows.map((row) =>
    toBatch(
      row,
      (events.all(row.id) as Array<{ event_id: string }>).map((r) => r.event_id),
    ),
  );
}

export function toBatch(row: BatchRow, eventIds: string[]): Batch {
  const json = <T>(value: string | T): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);
  return {
    id: row.id,
    rule: row.rule,
    destination: row.destination,
    template: row.template,
    key: row.key,
    keyLabel: row.key_label,
    keyValues: json<Record<string, unknown>>(row.key_values),
    spec: json<BatchSpec>(row.spec),
    dueAt: row.due_at,
    lastSentAt: row.last_sent_at,
    windowStart: row.window_start,
    windowSent: row.window_sent,
    suppressed: row.suppressed,
    eventIds,
  };
}

/** Writes a completion (see Store.completeBatch); run inside one write transaction. */
export function completeBatch(prepare: Prepare, c: BatchCompletion, now: number): boolean {
  const update = prepare(
    `UPDATE batches SET pending = pending - @consumed,
       due_at = CASE WHEN pending - @consumed > 0 THEN @dueIfPending ELSE @dueIfEmpty END,
       last_sent_at = COALESCE(@sentAt, last_sent_at), window_start = @windowStart, window_sent = @windowSent, suppressed = @suppressed
     WHERE id = @id`,
  );
  const unlink = prepare('DELETE FROM batch_events WHERE batch_id = ? AND event_id IN (SELECT value FROM json_each(?))');
  const insertEvent = prepare(
    `INSERT INTO events (id, source, provider, type, category, outcome, subject, time, received_at, provider_event_id,
                         dedupe_key, body, routed_at, rules_version)
     VALUES (@id, @source, @provider, @type, @category, @outcome, @subject, @time, @receivedAt, NULL, @id, @body, @receivedAt, 'batch')`,
  );
  const insertDelivery = prepare(
    `INSERT INTO deliveries (id, event_id, rule, destination, template, message, status, next_attempt_at, created_at, updated_at, last_error)
     VALUES (@id, @eventId, @rule, @destination, @template, @message, @status, @now, @now, @now, @error)`,
  );
  const changed = update.run({
    id: c.batchId,
    consumed: c.consumed.length,
    dueIfPending: c.dueIfPending,
    dueIfEmpty: c.dueIfEmpty,
    sentAt: c.sentAt,
    windowStart: c.windowStart,
    windowSent: c.windowSent,
    suppressed: c.suppressed,
  }).changes;
  if (changed === 0) return false;
  unlink.run(c.batchId, JSON.stringify(c.consumed));
  if (c.event) {
    const e = c.event;
    insertEvent.run({
      id: e.id,
      source: e.source,
      provider: e.provider,
      type: e.type,
      category: e.category,
      outcome: e.outcome,
      subject: e.subject,
      time: e.time,
      receivedAt: e.receivedAt,
      body: JSON.stringify(e),
    });
  }
  for (const d of c.deliveries) {
    insertDelivery.run({
      id: d.id,
      eventId: d.eventId,
      rule: d.rule,
      destination: d.destination,
      template: d.template,
      message: d.message === null ? null : JSON.stringify(d.message),
      status: d.status,
      now,
      error: d.error ?? null,
    });
  }
  return true;
}

export function scheduleBatch(prepare: Prepare, s: BatchSchedule): void {
  prepare(
    `INSERT INTO batches (id, rule, destination, template, key, key_label, key_values, spec, due_at)
     VALUES (@id, @rule, @destination, @template, @key, @keyLabel, @keyValues, @spec, @dueAt)
     ON CONFLICT (rule, destination, template, key) DO UPDATE SET spec = excluded.spec, due_at = COALESCE(due_at, excluded.due_at)`,
  ).run({
    id: newEventId(),
    rule: s.rule,
    destination: s.destination,
    template: s.template,
    key: s.key,
    keyLabel: s.keyLabel,
    keyValues: JSON.stringify(s.keyValues),
    spec: JSON.stringify(s.spec),
    dueAt: s.dueAt,
  });
}
