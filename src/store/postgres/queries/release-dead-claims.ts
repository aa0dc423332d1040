/**
 * Gives the claims of dead processes back to the queue, in ONE statement: the
 * claimants of the claims this statement sees (deliveries being sent, events
 * reserved for routing, batches being sent) whose liveness lock no session holds
 * (liveness-lock.ts) are dead, and their claims are cleared, so the others
 * take the work over now rather than when the claims expire.
 *
 * Never a live process's claims: a process takes its lock before its first
 * claim, so a claimant this statement's snapshot sees already held its lock
 * when pg_locks is read (after the snapshot); if the lock is gone, so is the
 * process. A process that starts meanwhile has a new claimant, not in the
 * dead list, whatever it claims during this statement.
 */
import type { Db } from '../connection.js';
import { LIVENESS_NAMESPACE } from '../liveness-lock.js';

const RELEASE_DEAD_CLAIMS = `
WITH claimants AS (
  SELECT DISTINCT claimed_by AS claimant FROM deliveries WHERE status = 'pending' AND claim_expires_at IS NOT NULL
  UNION
  SELECT DISTINCT route_claimed_by FROM events WHERE routed_at IS NULL AND route_claimed_by IS NOT NULL
  UNION
  SELECT DISTINCT claimed_by FROM batches WHERE claimed_by IS NOT NULL
), live AS (
  SELECT objid FROM pg_locks
  -- A lock on two int4 keys shows them as classid and objid, with objsubid 2.
  WHERE locktype = 'advisory' AND objsubid = 2 AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND classid = ${LIVENESS_NAMESPACE}::oid
), dead AS (
  SELECT claimant FROM claimants WHERE claimant IS NOT NULL AND hashtext(claimant)::oid NOT IN (SELECT objid FROM live)
), deliveries_released AS (
  UPDATE deliveries SET claimed_by = NULL, claim_expires_at = NULL
  WHERE status = 'pending' AND claim_expires_at IS NOT NULL AND claimed_by IN (SELECT claimant FROM dead)
  RETURNING 1
), events_released AS (
  UPDATE events SET route_claimed_by = NULL, route_claim_expires_at = NULL
  WHERE routed_at IS NULL AND route_claimed_by IN (SELECT claimant FROM dead)
  RETURNING 1
), batches_released AS (
  UPDATE batches SET claimed_by = NULL, claim_expires_at = NULL
  WHERE claimed_by IN (SELECT claimant FROM dead)
  RETURNING 1
)
SELECT (SELECT count(*) FROM deliveries_released) + (SELECT count(*) FROM events_released) + (SELECT count(*) FROM batches_released) AS released`;

/** Returns how many claims (deliveries and events) it gave back. */
export async function releaseDeadClaims(db: Db): Promise<number> {
  const [row] = await db.rows<{ released: number }>(RELEASE_DEAD_CLAIMS, [], 'herald.release-dead-claims');
  return row?.released ?? 0;
}
