/**
 * Records an attempt and what follows it in ONE statement: the delivery is
 * updated only while the claimant still holds its claim, and the attempt row
 * is inserted only if that update happened. A process whose claim expired and
 * was taken over changes nothing.
 */
import type { Attempt, AttemptVerdict } from '../../store.js';
import type { Db } from '../connection.js';

const COMPLETE_ATTEMPT = `
WITH done AS (
  UPDATE deliveries
  SET status = $3, attempts = attempts + 1, next_attempt_at = COALESCE($4::bigint, next_attempt_at),
      claimed_by = NULL, claim_expires_at = NULL, updated_at = $5, last_error = $6
  WHERE id = $1 AND claimed_by = $2 AND status = 'pending'
  RETURNING id
)
INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, outcome, status, reason, error, response_excerpt)
SELECT id, $7, $8, $9, $10, $11, $12, $13, $14 FROM done`;

/** True when the attempt was recorded; false when the claim is no longer the claimant's. */
export async function completeAttempt(db: Db, claimant: string, attempt: Attempt, verdict: AttemptVerdict, now: number): Promise<boolean> {
  const result = await db.query(
    COMPLETE_ATTEMPT,
    [
      attempt.deliveryId,
      claimant,
      verdict.status,
      verdict.status === 'pending' ? verdict.nextAttemptAt : null,
      now,
      attempt.error === null ? null : `${attempt.reason ?? 'error'}: ${attempt.error}`,
      attempt.attempt,
      attempt.startedAt,
      Math.round(attempt.durationMs),
      attempt.outcome,
      attempt.status,
      attempt.reason,
      attempt.error,
      attempt.responseExcerpt,
    ],
    'herald.complete-attempt',
  );
  return result.rowCount === 1;
}
