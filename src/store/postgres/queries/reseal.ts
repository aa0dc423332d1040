/**
 * `herald keys rotate`'s writes: each row written again only if it still
 * holds what rotation read (compared as text: `json` keeps the text exactly
 * as JSON.stringify wrote it), so a serving herald's change meanwhile wins.
 */
import type { Db } from '../connection.js';
import type { Reseal } from '../../store.js';

export async function reseal(db: Db, changes: readonly Reseal[]): Promise<number> {
  if (changes.length === 0) return 0;
  return db.transaction(async (tx) => {
    let written = 0;
    for (const change of changes) {
      const result =
        change.kind === 'event'
          ? await tx.query('UPDATE events SET body = $1 WHERE id = $2 AND body::text = $3', [JSON.stringify(change.to), change.id, JSON.stringify(change.from)])
          : change.kind === 'message'
            ? await tx.query('UPDATE deliveries SET message = $1 WHERE id = $2 AND message::text = $3', [
                JSON.stringify(change.to),
                change.deliveryId,
                JSON.stringify(change.from),
              ])
            : await tx.query('UPDATE attempts SET response_excerpt = $1 WHERE delivery_id = $2 AND attempt = $3 AND response_excerpt = $4', [
                change.to,
                change.deliveryId,
                change.attempt,
                change.from,
              ]);
      written += result.rowCount ?? 0;
    }
    return written;
  });
}
