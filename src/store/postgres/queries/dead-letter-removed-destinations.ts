/**
 * Dead-letters the pending deliveries to destinations that left the config,
 * with the reason `destination-removed`, in one statement. Only deliveries
 * made (or last retried) before the config took effect: another process with
 * a newer config may have made the others. Rows under a live claim, or being
 * claimed right now, are left to their claimant.
 */
import type { Db } from '../connection.js';

const DEAD_LETTER_REMOVED_DESTINATIONS = `
UPDATE deliveries
SET status = 'dead', updated_at = $3,
    last_error = 'destination-removed: destination "' || destination || '" is no longer in the config; retry the delivery once it is back'
WHERE id IN (
  SELECT id FROM deliveries
  WHERE status = 'pending' AND destination <> ALL ($1::text[]) AND COALESCE(retried_at, created_at) < $2
    AND (claim_expires_at IS NULL OR claim_expires_at <= $3)
  FOR UPDATE SKIP LOCKED)`;

export async function deadLetterRemovedDestinations(db: Db, destinations: readonly string[], madeBeforeMs: number, now: number): Promise<number> {
  return (await db.query(DEAD_LETTER_REMOVED_DESTINATIONS, [[...destinations], madeBeforeMs, now])).rowCount ?? 0;
}
