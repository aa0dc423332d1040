/**
 * Events waiting for enrichment (pipeline/stages/enrich.ts). The claim leases each
 * event by moving its due time `leaseMs` ahead and counts the try, in one
 * `SKIP LOCKED` statement, so several processes enrich different events and a
 * dead process's events fall due again. Completing a try either stores the
 * enriched event and makes it routable (enrich_due_at NULL: the route claim
 * skips only the others) or sets the next try's due time. A completion for an
 * event already enriched (a second process whose lease ran out) changes nothing.
 */
import type { NormalizedEvent } from '../../../core/event.js';
import type { EnrichmentClaim, EnrichmentClaimRequest, EnrichmentOutcome } from '../../store.js';
import type { Db } from '../connection.js';

const CLAIM_EVENTS_TO_ENRICH = `
UPDATE events SET enrich_due_at = $1::bigint + $2::bigint, enrich_attempts = enrich_attempts + 1
WHERE id IN (
  SELECT id FROM events
  WHERE enrich_due_at <= $1 AND routed_at IS NULL
  ORDER BY enrich_due_at, id
  LIMIT $3
  FOR UPDATE SKIP LOCKED)
RETURNING id, body, enrich_attempts AS attempts`;

const ENRICHED = `
UPDATE events SET body = $2::json, outcome = $3, enrich_due_at = NULL
WHERE id = $1 AND enrich_due_at IS NOT NULL`;

const RETRY_ENRICHMENT = `UPDATE events SET enrich_due_at = $2 WHERE id = $1 AND enrich_due_at IS NOT NULL`;

/** A retry that keeps the steps done so far (the session, the media archive). */
const ENRICHMENT_PROGRESS = `
UPDATE events SET body = $2::json, outcome = $3, enrich_due_at = $4
WHERE id = $1 AND enrich_due_at IS NOT NULL`;

export async function claimEventsToEnrich(db: Db, { limit, leaseMs, now }: EnrichmentClaimRequest): Promise<EnrichmentClaim[]> {
  const rows = await db.rows<{ id: string; body: NormalizedEvent; attempts: number }>(
    CLAIM_EVENTS_TO_ENRICH,
    [now, leaseMs, limit],
    'herald.claim-events-to-enrich',
  );
  // RETURNING has no order of its own.
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => ({ event: r.body, attempts: r.attempts }));
}

export async function completeEnrichment(db: Db, eventId: string, outcome: EnrichmentOutcome): Promise<void> {
  if ('retryAt' in outcome && outcome.event) {
    await db.query(ENRICHMENT_PROGRESS, [eventId, JSON.stringify(outcome.event), outcome.event.outcome, outcome.retryAt], 'herald.enrichment-progress');
  } else if ('retryAt' in outcome) {
    await db.query(RETRY_ENRICHMENT, [eventId, outcome.retryAt], 'herald.retry-enrichment');
  } else {
    await db.query(ENRICHED, [eventId, JSON.stringify(outcome.event), outcome.event.outcome], 'herald.complete-enrichment');
  }
}
