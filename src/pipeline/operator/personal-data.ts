/**
 * Personal data as operators see it (admin API, `herald events list|show`):
 * masked like in messages, unless an operator explicitly asks to see it; then
 * the reading is written to the audit log first, so no unaudited reading
 * happens. Who asked is what the caller says it is (one shared admin token
 * cannot tell people apart), with where the request came from.
 */
import type { NormalizedEvent } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import { ownValue } from '../../core/own.js';
import { REDACTED } from '../../core/redact.js';
import type { ProviderProfile } from '../../providers/provider.js';
import type { AuditEntry, Store } from '../../store/store.js';
import { eventView } from '../events/event-view.js';

/** The audit action of reading an event's personal fields. */
export const PII_READ = 'event.pii.read';

/** Longest actor name kept; longer ones are cut. */
const ACTOR_MAX_LENGTH = 200;

/**
 * The event with its provider's personal fields replaced by `[redacted]`. An
 * event of a provider herald does not know (stored by another version) has
 * its whole payload masked: herald cannot tell which of its fields are personal.
 */
export function maskPersonalFields(event: NormalizedEvent, providers: Readonly<Record<string, ProviderProfile>>): NormalizedEvent {
  const provider = ownValue(providers, event.provider);
  if (!provider) return { ...event, data: { [REDACTED]: true } };
  // The masking of messages: what a rule without `pii: include` sees.
  return eventView(event, provider, undefined, 'redact');
}

/** An actor name as given by a client: printable, one line, bounded; "unnamed" when none was given. */
export function actorName(given: string | undefined): string {
  const printable = (given ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .trim()
    .slice(0, ACTOR_MAX_LENGTH);
  return printable === '' ? 'unnamed' : printable;
}

/** Writes to the audit log that `actor` read the personal fields of the event `eventId`; resolves once it is durable. */
export function recordPiiRead(store: Store, actor: string, eventId: string, detail: Record<string, unknown>, now = Date.now()): Promise<void> {
  const entry: AuditEntry = { id: newEventId(), at: now, actor: actorName(actor), action: PII_READ, target: eventId, detail };
  return store.recordAudit(entry);
}
