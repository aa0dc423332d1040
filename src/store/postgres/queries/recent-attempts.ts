/**
 * The attempts that started since a moment, by destination and by how they
 * ended: the delivery rate the console's Destinations page shows, counted
 * over every process on the database. Reads only those rows, through the
 * attempts_started index, each with its delivery by primary key.
 */
import type { RecentAttempts } from '../../store.js';
import type { Db } from '../connection.js';

const RECENT_ATTEMPTS = `
SELECT d.destination,
       count(*) FILTER (WHERE a.outcome = 'delivered')::int AS delivered,
       count(*) FILTER (WHERE a.outcome <> 'delivered')::int AS failed
FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
WHERE a.started_at >= $1 GROUP BY d.destination`;

export async function recentAttempts(db: Db, sinceMs: number): Promise<Record<string, RecentAttempts>> {
  const rows = await db.rows<{ destination: string; delivered: number; failed: number }>(RECENT_ATTEMPTS, [sinceMs]);
  return Object.fromEntries(rows.map((r) => [r.destination, { delivered: r.delivered, failed: r.failed }]));
}
