/**
 * When the deliver stage should look again: the earliest moment a pending
 * delivery of these destinations falls due. Asked after every claim, so it
 * must not scan a backlog: per destination, the first unclaimed delivery in
 * the deliveries_due index order, and the few claimed ones (due when their
 * claim expires, if that is later) through deliveries_claimed.
 */
import type { Db } from '../connection.js';

const NEXT_DUE_AT = `
SELECT MIN(due) AS due FROM unnest($1::text[]) AS dest(name), LATERAL (
  (SELECT next_attempt_at AS due FROM deliveries
   WHERE status = 'pending' AND destination = dest.name AND claim_expires_at IS NULL
   ORDER BY next_attempt_at LIMIT 1)
  UNION ALL
  (SELECT MIN(GREATEST(next_attempt_at, claim_expires_at)) FROM deliveries
   WHERE status = 'pending' AND destination = dest.name AND claim_expires_at IS NOT NULL)
) AS earliest`;

export async function nextDueAt(db: Db, destinations: readonly string[]): Promise<number | undefined> {
  const [row] = await db.rows<{ due: number | null }>(NEXT_DUE_AT, [[...destinations]], 'herald.next-due-at');
  return row?.due ?? undefined;
}
