/**
 * The deliveries that went dead since a moment, by destination, with the
 * latest one's error: what the dead-letter alert reports. Reads only those
 * rows, through the deliveries_dead partial index (updated_at of dead letters).
 */
import type { RecentDeadLetters } from '../../store.js';
import type { Db } from '../connection.js';

const RECENT_DEAD_LETTERS = `
SELECT destination, count(*)::int AS count, max(updated_at) AS latest_at,
       (array_agg(last_error ORDER BY updated_at DESC, id DESC))[1] AS latest_error
FROM deliveries WHERE status = 'dead' AND updated_at >= $1 GROUP BY destination`;

export async function recentDeadLetters(db: Db, sinceMs: number): Promise<Record<string, RecentDeadLetters>> {
  const rows = await db.rows<{ destination: string; count: number; latest_at: number; latest_error: string | null }>(RECENT_DEAD_LETTERS, [sinceMs]);
  return Object.fromEntries(rows.map((r) => [r.destination, { count: r.count, latestAt: r.latest_at, latestError: r.latest_error }]));
}
