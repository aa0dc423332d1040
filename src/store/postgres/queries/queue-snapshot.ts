/**
 * The queue for the metrics, read at each scrape: pending deliveries and the
 * oldest due one per destination (through the deliveries_due partial index),
 * and the dead count (deliveries_dead).
 */
import type { QueueSnapshot } from '../../store.js';
import type { Db } from '../connection.js';

const PENDING = `
SELECT destination, count(*)::int AS pending, MIN(next_attempt_at) FILTER (WHERE next_attempt_at <= $1) AS oldest
FROM deliveries WHERE status = 'pending' GROUP BY destination`;

const DEAD = `SELECT count(*)::int AS n FROM deliveries WHERE status = 'dead'`;

export async function queueSnapshot(db: Db, now: number): Promise<QueueSnapshot> {
  const pending = await db.rows<{ destination: string; pending: number; oldest: number | null }>(PENDING, [now]);
  const [dead] = await db.rows<{ n: number }>(DEAD);
  return {
    byDestination: Object.fromEntries(pending.map((r) => [r.destination, { pending: r.pending, oldestDueAt: r.oldest }])),
    dead: dead!.n,
  };
}
