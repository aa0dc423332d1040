/**
 * Claims due deliveries of one destination in ONE statement, graphile-worker
 * style: the inner SELECT locks the rows it picks and skips rows another
 * process is claiming right now (SKIP LOCKED), and the UPDATE records the
 * claimant and the claim's expiry. A claim whose owner died expires and is
 * taken over here; until then, nobody else can claim or complete it.
 */
import type { ClaimRequest, Delivery } from '../../store.js';
import type { Db } from '../connection.js';
import { toDelivery, type DeliveryRow } from '../../rows.js';

const CLAIM_DELIVERIES = `
UPDATE deliveries SET claimed_by = $1, claim_expires_at = $2::bigint + $3::bigint
WHERE id IN (
  SELECT id FROM deliveries
  WHERE status = 'pending' AND destination = $4 AND next_attempt_at <= $2
    AND (claim_expires_at IS NULL OR claim_expires_at <= $2)
  ORDER BY next_attempt_at, id
  LIMIT $5
  FOR UPDATE SKIP LOCKED)
RETURNING *`;

export async function claimDeliveries(db: Db, { destination, limit, claimant, claimTtlMs, now }: ClaimRequest): Promise<Delivery[]> {
  const rows = await db.rows<DeliveryRow>(CLAIM_DELIVERIES, [claimant, now, claimTtlMs, destination, limit], 'herald.claim-deliveries');
  return rows.map(toDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
}
