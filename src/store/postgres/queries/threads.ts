/**
 * Threads (core/threads.ts): the claim is one upsert. Of concurrent first
 * messages of one thread, one inserts the row and the others wait for its
 * lock and then find its owner; an owner is replaced only while no parent is
 * recorded and its delivery can no longer send (dead, or pruned).
 */
import type { ThreadClaimRequest, ThreadParent, ThreadRecord } from '../../../core/threads.js';
import type { Db } from '../connection.js';

const CLAIM_THREAD = `
INSERT INTO threads (destination, thread_key, owner_delivery, created_at, used_at)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (destination, thread_key) DO UPDATE SET
  owner_delivery = CASE
    WHEN threads.parent IS NULL AND NOT EXISTS (
      SELECT 1 FROM deliveries d WHERE d.id = threads.owner_delivery AND d.status IN ('pending', 'delivered'))
    THEN EXCLUDED.owner_delivery ELSE threads.owner_delivery END,
  used_at = GREATEST(threads.used_at, EXCLUDED.used_at)
RETURNING owner_delivery, parent, parent_channel`;

const SET_THREAD_PARENT = `
UPDATE threads SET parent = $4, parent_channel = $5, used_at = GREATEST(used_at, $6)
WHERE destination = $1 AND thread_key = $2 AND owner_delivery = $3 AND parent IS NULL`;

const PRUNE_THREADS = `
DELETE FROM threads WHERE (destination, thread_key) IN (
  SELECT destination, thread_key FROM threads WHERE used_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`;

interface ThreadRow {
  owner_delivery: string;
  parent: string | null;
  parent_channel: string | null;
}

export async function claimThread(db: Db, { destination, key, deliveryId, now }: ThreadClaimRequest): Promise<ThreadRecord> {
  const [row] = await db.rows<ThreadRow>(CLAIM_THREAD, [destination, key, deliveryId, now], 'herald.claim-thread');
  return { owner: row!.owner_delivery, parent: row!.parent, parentChannel: row!.parent_channel };
}

export async function setThreadParent(db: Db, { destination, key, owner, parent, parentChannel, now }: ThreadParent): Promise<boolean> {
  const result = await db.query(SET_THREAD_PARENT, [destination, key, owner, parent, parentChannel, now], 'herald.set-thread-parent');
  return result.rowCount === 1;
}

export async function pruneThreads(db: Db, usedBeforeMs: number, batchSize: number): Promise<number> {
  return (await db.query(PRUNE_THREADS, [usedBeforeMs, batchSize])).rowCount ?? 0;
}
