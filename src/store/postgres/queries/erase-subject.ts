/**
 * Erasure of one subject (README, "Erasure"): its events, their deliveries
 * and attempts (ON DELETE CASCADE) and dedupe keys, counted and deleted in
 * one transaction; its media are counted, and deleted by the caller after.
 * The events are locked first: a process writing one of them meanwhile
 * (enriching, routing it) finishes before they go, or finds them gone.
 */
import type { Db } from '../connection.js';
import type { ErasedSubject } from '../../store.js';

const COUNT = `
WITH e AS (SELECT id FROM events WHERE subject = $1 FOR UPDATE),
     d AS (SELECT id FROM deliveries WHERE event_id IN (SELECT id FROM e))
SELECT (SELECT count(*) FROM e)::int AS events,
       (SELECT count(*) FROM d)::int AS deliveries,
       (SELECT count(*) FROM attempts WHERE delivery_id IN (SELECT id FROM d))::int AS attempts,
       (SELECT count(*) FROM event_dedupe WHERE event_id IN (SELECT id FROM e))::int AS "dedupeKeys",
       (SELECT count(*) FROM media WHERE subject = $1 OR event_id IN (SELECT id FROM e))::int AS media`;

export async function eraseSubject(db: Db, subject: string, dryRun: boolean): Promise<ErasedSubject> {
  return db.transaction(async (tx) => {
    const [counted] = await tx.rows<ErasedSubject>(COUNT, [subject]);
    if (!dryRun) {
      await tx.query('DELETE FROM event_dedupe WHERE event_id IN (SELECT id FROM events WHERE subject = $1)', [subject]);
      // Waiting in a group, digest or throttle: the batch sends without them.
      await tx.query('DELETE FROM batch_events WHERE event_id IN (SELECT id FROM events WHERE subject = $1)', [subject]);
      await tx.query('DELETE FROM events WHERE subject = $1', [subject]);
    }
    return { ...counted! };
  });
}
