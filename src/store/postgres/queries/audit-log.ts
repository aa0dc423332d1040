/** The audit log: append an entry, list entries by actor, action or target, oldest first. */
import type { AuditEntry, AuditFilter } from '../../store.js';
import type { Db } from '../connection.js';

const RECORD = 'INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)';

const LIST = `
SELECT id, at, actor, action, target, detail FROM audit_log
WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
  AND ($3::text IS NULL OR target = $3) AND ($4::text IS NULL OR id > $4)
ORDER BY id LIMIT $5`;

export async function recordAudit(db: Db, { id, at, actor, action, target, detail }: AuditEntry): Promise<void> {
  await db.query(RECORD, [id, at, actor, action, target, detail === null ? null : JSON.stringify(detail)]);
}

export async function listAudit(db: Db, filter: AuditFilter): Promise<AuditEntry[]> {
  const rows = await db.rows<AuditEntry>(LIST, [filter.actor ?? null, filter.action ?? null, filter.target ?? null, filter.after ?? null, filter.limit ?? 100]);
  return rows.map((r) => ({ ...r, at: Number(r.at) }));
}
