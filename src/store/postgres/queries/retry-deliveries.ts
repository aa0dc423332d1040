/**
 * Retrying: a dead or pending delivery becomes pending and due now, and its
 * maximum age and retry schedule count from now (retried_at). Its attempts
 * stay, and a claim stays with its claimant (an attempt in flight completes
 * as usual). A delivery without a message (its template failed) has
 * nothing to send: replaying its event renders it again.
 */
import type { DeadLetterFilter } from '../../store.js';
import type { Db } from '../connection.js';

const RETRY_DELIVERY = `
UPDATE deliveries SET status = 'pending', next_attempt_at = $2, updated_at = $2, retried_at = $2
WHERE id = $1 AND status IN ('pending', 'dead') AND message IS NOT NULL`;

const RETRY_DEAD_LETTERS = `
UPDATE deliveries SET status = 'pending', next_attempt_at = $1, updated_at = $1, retried_at = $1
WHERE status = 'dead' AND message IS NOT NULL AND ($2::text IS NULL OR destination = $2)
  AND ($3::text IS NULL OR rule = $3) AND ($4::bigint IS NULL OR updated_at >= $4)`;

export async function retryDelivery(db: Db, id: string, now: number): Promise<boolean> {
  return (await db.query(RETRY_DELIVERY, [id, now])).rowCount === 1;
}

export async function retryDeadLetters(db: Db, filter: DeadLetterFilter, now: number): Promise<number> {
  const result = await db.query(RETRY_DEAD_LETTERS, [now, filter.destination ?? null, filter.rule ?? null, filter.sinceMs ?? null]);
  return result.rowCount ?? 0;
}
