/**
 * Erasing a subject and re-sealing rows (README, "Erasure", "Encryption at
 * rest"): rare operator writes, run inside the caller's transaction, so
 * statements are prepared per call. A subject's media are counted here and
 * deleted by the caller after its events (ErasedSubject.media).
 */
import type { Database } from 'better-sqlite3';
import type { ErasedSubject, Reseal } from '../store.js';

/** The subject's events, as a json_each source. */
const SUBJECT_EVENTS = 'SELECT id FROM events WHERE subject = @subject';
const SUBJECT_DELIVERIES = `SELECT id FROM deliveries WHERE event_id IN (${SUBJECT_EVENTS})`;

export function eraseSubject(db: Database, subject: string, dryRun: boolean): ErasedSubject {
  const count = (sql: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${sql}`).get({ subject }) as { n: number }).n;
  const counted: ErasedSubject = {
    events: count('events WHERE subject = @subject'),
    deliveries: count(`deliveries WHERE event_id IN (${SUBJECT_EVENTS})`),
    attempts: count(`attempts WHERE delivery_id IN (${SUBJECT_DELIVERIES})`),
    dedupeKeys: count(`event_dedupe WHERE event_id IN (${SUBJECT_EVENTS})`),
    media: count(`media WHERE subject = @subject OR event_id IN (${SUBJECT_EVENTS})`),
  };
  if (dryRun) return counted;
  // Children first: the foreign keys have no ON DELETE CASCADE here.
  db.prepare(`DELETE FROM attempts WHERE delivery_id IN (${SUBJECT_DELIVERIES})`).run({ subject });
  db.prepare(`DELETE FROM deliveries WHERE event_id IN (${SUBJECT_EVENTS})`).run({ subject });
  db.prepare(`DELETE FROM event_dedupe WHERE event_id IN (${SUBJECT_EVENTS})`).run({ subject });
  // Waiting in a group, digest or throttle: the batch sends without them.
  db.prepare(`DELETE FROM batch_events WHERE event_id IN (${SUBJECT_EVENTS})`).run({ subject });
  db.prepare('DELETE FROM events WHERE subject = @subject').run({ subject });
  return counted;
}

/** Each value is stored as JSON.stringify wrote it, so the text compares exactly. */
export function reseal(db: Database, changes: readonly Reseal[]): number {
  const event = db.prepare('UPDATE events SET body = ? WHERE id = ? AND body = ?');
  const message = db.prepare('UPDATE deliveries SET message = ? WHERE id = ? AND message = ?');
  const excerpt = db.prepare('UPDATE attempts SET response_excerpt = ? WHERE delivery_id = ? AND attempt = ? AND response_excerpt = ?');
  let written = 0;
  for (const change of changes) {
    if (change.kind === 'event') written += event.run(JSON.stringify(change.to), change.id, JSON.stringify(change.from)).changes;
    else if (change.kind === 'message') written += message.run(JSON.stringify(change.to), change.deliveryId, JSON.stringify(change.from)).changes;
    else written += excerpt.run(change.to, change.deliveryId, change.attempt, change.from).changes;
  }
  return written;
}
