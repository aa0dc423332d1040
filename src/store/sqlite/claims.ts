/**
 * The SQLite store's delivery claims, kept in memory.
 *
 * One process owns a SQLite file, and a restart voids every claim (see
 * recoverClaimsAtStartup), so a claim never needs to outlive the process or be
 * seen by another: keeping it in the database cost a write per claim and a
 * claim query that read each in-flight row to skip it, together a tenth of
 * herald's CPU at 1,000 events/s (bench/RESULTS.md). The rules are the shared
 * store's: a claim lasts until its claimant completes the attempt, releases
 * it, or it expires and another claimant takes the delivery over.
 */

export interface Claim {
  /** The delivery's SQLite rowid, as the due index returns it. */
  rowid: number;
  deliveryId: string;
  destination: string;
  claimant: string;
  expiresAt: number;
  /** The delivery's next_attempt_at when claimed. */
  dueAt: number;
}

export class ClaimBook {
  private readonly byRowid = new Map<number, Claim>();
  private readonly byDelivery = new Map<string, Claim>();

  /** Whether the delivery is claimed and the claim has not expired at `now`. */
  isLive(rowid: number, now: number): boolean {
    const claim = this.byRowid.get(rowid);
    return claim !== undefined && claim.expiresAt > now;
  }

  isClaimed(rowid: number): boolean {
    return this.byRowid.has(rowid);
  }

  /** The destination's claims, live or expired (at most its concurrency: in flight). */
  of(destination: string): Claim[] {
    return [...this.byRowid.values()].filter((claim) => claim.destination === destination);
  }

  /** Records a claim, taking over an expired one. */
  add(claim: Claim): void {
    this.remove(claim.rowid);
    this.byRowid.set(claim.rowid, claim);
    this.byDelivery.set(claim.deliveryId, claim);
  }

  /** The claim on a delivery, if `claimant` holds it (expired or not, until someone takes it over). */
  heldBy(deliveryId: string, claimant: string): Claim | undefined {
    const claim = this.byDelivery.get(deliveryId);
    return claim?.claimant === claimant ? claim : undefined;
  }

  private remove(rowid: number): void {
    const claim = this.byRowid.get(rowid);
    if (!claim) return;
    this.byRowid.delete(rowid);
    this.byDelivery.delete(claim.deliveryId);
  }

  /** Removes this claim, unless another has taken its place. */
  drop(claim: Claim): void {
    if (this.byRowid.get(claim.rowid) === claim) this.remove(claim.rowid);
  }

  /** Drops the claimant's claims, or every claim. */
  release(claimant?: string): void {
    for (const claim of [...this.byRowid.values()]) {
      if (claimant === undefined || claim.claimant === claimant) this.remove(claim.rowid);
    }
  }
}
