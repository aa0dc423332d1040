/**
 * Erasure of one subject, for a data-protection request (README, "Erasure"):
 * every event about it, with its deliveries, attempts, dedupe keys and
 * enrichment, deleted from the store, then its archived media (bytes, then
 * records); the audit log records who erased what (the counts, never a
 * payload). A dry run only counts, and is not audited.
 */
import { newEventId } from '../../core/ids.js';
import type { MediaFiles } from '../../store/media-files.js';
import type { ErasedSubject, Store } from '../../store/store.js';
import { deleteOrphanedMedia } from '../stages/media-archive.js';
import { actorName } from './personal-data.js';

/** The audit action of erasing a subject. */
export const SUBJECT_ERASE = 'subject.erase';

export interface Erasure {
  subject: string;
  dryRun: boolean;
  removed: ErasedSubject;
}

export interface ErasureRequest {
  dryRun: boolean;
  /** Who asks, and from where (the audit entry's `detail`). */
  actor: string;
  detail: Record<string, unknown>;
  /** Where archived media's bytes are kept; without it (no media archive configured) only records could be left. */
  mediaFiles?: MediaFiles;
  now?: number;
}

export async function eraseSubject(store: Store, subject: string, { dryRun, actor, detail, mediaFiles, now = Date.now() }: ErasureRequest): Promise<Erasure> {
  const removed = await store.eraseSubject(subject, { dryRun });
  if (!dryRun) {
    // The media of the erased events are now media whose event is gone: deleted with any such (retention's too).
    if (mediaFiles) await deleteOrphanedMedia(store, mediaFiles);
    await store.recordAudit({ id: newEventId(), at: now, actor: actorName(actor), action: SUBJECT_ERASE, target: subject, detail: { ...detail, removed } });
  }
  return { subject, dryRun, removed };
}
