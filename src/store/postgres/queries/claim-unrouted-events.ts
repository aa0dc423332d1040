/**
 * Hands out unrouted events, oldest first, reserving them for this store
 * instance until the claim expires, so that several processes route different
 * events instead of all rendering the same ones. The reservation only spreads
 * the work: markRouted is what makes routing happen once (mark-routed.ts).
 * An instance gets its own unexpired claims back (a retry after a failed
 * markRouted); a dead process's claims are taken over once they expire.
 */
import type { NormalizedEvent } from '../../../core/event.js';
import type { Db } from '../connection.js';

const CLAIM_UNROUTED_EVENTS = `
UPDATE events SET route_claimed_by = $1, route_claim_expires_at = $2::bigint + $3::bigint
WHERE id IN (
  SELECT id FROM events
  WHERE routed_at IS NULL AND enrich_due_at IS NULL
    AND (route_claim_expires_at IS NULL OR route_claim_expires_at <= $2 OR route_claimed_by = $1)
  ORDER BY id
  LIMIT $4
  FOR UPDATE SKIP LOCKED)
RETURNING id, body`;

export interface RouteClaim {
  claimant: string;
  limit: number;
  claimTtlMs: number;
  now: number;
}

export async function claimUnroutedEvents(db: Db, { claimant, limit, claimTtlMs, now }: RouteClaim): Promise<NormalizedEvent[]> {
  const rows = await db.rows<{ id: string; body: NormalizedEvent }>(CLAIM_UNROUTED_EVENTS, [claimant, now, claimTtlMs, limit], 'herald.claim-unrouted-events');
  // RETURNING has no order of its own.
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => r.body);
}
