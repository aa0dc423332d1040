/**
 * The media archive's rows (pipeline/stages/media-archive.ts): a record per archived
 * file, its bytes when the database keeps them (`media.store: store`), and the
 * shared secret media links are signed with. One statement each. A record has
 * no foreign key to its event: retention and erasure delete the event, and the
 * orphaned media are then deleted, bytes first (orphanedMedia).
 */
import type { StoredMedia } from '../../store.js';
import type { Db } from '../connection.js';

const PUT_MEDIA = `
INSERT INTO media (id, event_id, subject, sha256, bytes, content_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET event_id = excluded.event_id, subject = excluded.subject, sha256 = excluded.sha256,
  bytes = excluded.bytes, content_type = excluded.content_type, created_at = excluded.created_at`;

const GET_MEDIA = `
SELECT id, event_id AS "eventId", subject, sha256, bytes, content_type AS "contentType", created_at AS "createdAt"
FROM media WHERE id = $1`;

const ORPHANED_MEDIA = `SELECT id FROM media m WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = m.event_id) LIMIT $1`;

const PUT_CONTENT = `INSERT INTO media_content (id, content) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET content = excluded.content`;

/** Inserts the candidate unless a secret of that name exists, and returns whichever is stored (one statement, race-free). */
const SHARED_SECRET = `
WITH kept AS (INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value)
SELECT value FROM kept UNION ALL SELECT value FROM shared_secrets WHERE name = $1`;

export async function putMedia(db: Db, m: StoredMedia): Promise<void> {
  await db.query(PUT_MEDIA, [m.id, m.eventId, m.subject, m.sha256, m.bytes, m.contentType, m.createdAt]);
}

export async function getMedia(db: Db, id: string): Promise<StoredMedia | undefined> {
  return (await db.rows<StoredMedia>(GET_MEDIA, [id]))[0];
}

export async function deleteMedia(db: Db, id: string): Promise<void> {
  await db.query('DELETE FROM media WHERE id = $1', [id]);
}

export async function orphanedMedia(db: Db, limit: number): Promise<string[]> {
  return (await db.rows<{ id: string }>(ORPHANED_MEDIA, [limit])).map((r) => r.id);
}

export async function putMediaContent(db: Db, id: string, content: Buffer): Promise<void> {
  await db.query(PUT_CONTENT, [id, content]);
}

export async function getMediaContent(db: Db, id: string): Promise<Buffer | undefined> {
  return (await db.rows<{ content: Buffer }>('SELECT content FROM media_content WHERE id = $1', [id]))[0]?.content;
}

export async function deleteMediaContent(db: Db, id: string): Promise<void> {
  await db.query('DELETE FROM media_content WHERE id = $1', [id]);
}

export async function sharedSecret(db: Db, name: string, candidate: Buffer): Promise<Buffer> {
  return (await db.rows<{ value: Buffer }>(SHARED_SECRET, [name, candidate]))[0]!.value;
}
