/**
 * Erasure of one subject, for a data-protection request (README, "Erasure"):
 * every event about it, with its deliveries, attempts, dedupe keys and
 * enrichment, deleted from the store; the audit log records who erased what
 * (the counts, never a payload). A dry run only counts, and is not audited.
 */
import { newEventId } from '../core/ids.js';
import type { ErasedSubject, Store } from '../store/store.js';
import { actorName } from './personal-data.js';

/** The audit action of erasing a subject. */
export const SUBJECT_ERASE = 'subject.erase';

export interface Erasure {
  subject: string;
  dryRun: boolean;
  removed: ErasedSubject;
}

export async function eraseSubject(
  store: Store, subject: string, { dryRun, actor, detail, now = Date.now() }: { dryRun: boolean; actor: string; detail: Record<string, unknown>; now?: number },
): Promise<Erasure> {
  const removed = await store.eraseSubject(subject, { dryRun });
  if (!dryRun) {
    await store.recordAudit({ id: newEventId(), at: now, actor: actorName(actor), action: SUBJECT_ERASE, target: subject, detail: { ...detail, removed } });
  }
  return { subject, dryRun, removed };
}
