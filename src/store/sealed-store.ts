/**
 * Encryption at rest for every store (README, "Encryption at rest"): a Store
 * that seals what carries payload values before the store under it writes
 * them, and opens them as it reads them. Both stores (sqlite/, postgres/) are
 * wrapped in it, so they never see a key and need no code of their own.
 *
 * What is sealed (core/sealing.ts), each under its row's id:
 * - an event's `data`, `session` and `media` (the payload, the enriched
 *   session, the provider's media link): the rest of the event (source, type,
 *   outcome, subject, times) stays readable for filtering, as its columns are;
 * - a delivery's rendered message (it quotes the payload);
 * - an attempt's response excerpt (a receiver may echo the message).
 * Errors (herald's own descriptions of a failure, scrubbed by the channels)
 * stay as they are: alerts and `herald dlq` read them.
 *
 * In the store a sealed event's `data` is `{"herald:sealed": "hs1:..."}` and
 * it has no `session` or `media`; a sealed message is
 * `{"channel": ..., "herald:sealed": "hs1:..."}`. Without a current key
 * nothing new is sealed, but sealed rows still need their key to be read: a
 * SealedDataError names the key id that is missing.
 */
import type { NormalizedEvent } from '../core/event.js';
import type { RenderedMessage } from '../core/message.js';
import { sealedKeyId, type DataKeyring } from '../core/sealing.js';
import type { ThreadClaimRequest, ThreadParent, ThreadRecord } from '../core/threads.js';
import type {
  AddedDeliveries,
  Attempt,
  Batch,
  BatchClaimRequest,
  BatchCompletion,
  BatchSchedule,
  AttemptVerdict,
  AuditEntry,
  AuditFilter,
  ClaimRequest,
  DeadLetterFilter,
  Delivery,
  DeliveryFilter,
  EnrichmentClaim,
  EnrichmentClaimRequest,
  EnrichmentOutcome,
  ErasedSubject,
  EventFilter,
  EventRecord,
  EventRouting,
  InsertResult,
  NewDelivery,
  NewEvent,
  QueueSnapshot,
  RecentAttempts,
  RecentDeadLetters,
  Reseal,
  RoutingError,
  Store,
  StoredMedia,
} from './store.js';

/** The field that holds a sealed value in a stored event's `data` or a stored message. */
export const SEALED_FIELD = 'herald:sealed';

/** The parts of an event that are sealed together. */
type SealedParts = Pick<NormalizedEvent, 'data' | 'session' | 'media'>;

function sealedValue(holder: unknown): string | undefined {
  if (holder === null || typeof holder !== 'object' || !Object.hasOwn(holder, SEALED_FIELD)) return undefined;
  const value = (holder as Record<string, unknown>)[SEALED_FIELD];
  return typeof value === 'string' ? value : undefined;
}

/** The key id a stored event, message or excerpt is sealed under; null when it is stored as it is. */
export function storedKeyId(stored: NormalizedEvent | RenderedMessage | string): string | null {
  if (typeof stored === 'string') return sealedKeyId(stored);
  const sealed = sealedValue('specversion' in stored ? stored.data : stored);
  return sealed === undefined ? null : sealedKeyId(sealed);
}

/** The event as stored: its payload sealed under the current key, or as it is when there is none. */
export function sealEvent(keys: DataKeyring, event: NormalizedEvent): NormalizedEvent {
  if (!keys.sealing) return event;
  const { data, session, media, ...rest } = event;
  const parts: SealedParts = { data, ...(session !== undefined && { session }), ...(media !== undefined && { media }) };
  return { ...rest, data: { [SEALED_FIELD]: keys.sealText(JSON.stringify(parts), `event:${event.id}`) } };
}

/** The event as herald uses it, from the store. */
export function openEvent(keys: DataKeyring, stored: NormalizedEvent): NormalizedEvent {
  const sealed = sealedValue(stored.data);
  if (sealed === undefined) return stored;
  const parts = JSON.parse(keys.openText(sealed, `event:${stored.id}`)) as SealedParts;
  return { ...stored, ...parts };
}

export function sealMessage(keys: DataKeyring, deliveryId: string, message: RenderedMessage | null): RenderedMessage | null {
  if (!keys.sealing || message === null) return message;
  return { channel: message.channel, [SEALED_FIELD]: keys.sealText(JSON.stringify(message), `message:${deliveryId}`) } as unknown as RenderedMessage;
}

export function openMessage(keys: DataKeyring, deliveryId: string, stored: RenderedMessage | null): RenderedMessage | null {
  const sealed = sealedValue(stored);
  return sealed === undefined ? stored : (JSON.parse(keys.openText(sealed, `message:${deliveryId}`)) as RenderedMessage);
}

export function sealExcerpt(keys: DataKeyring, attempt: Pick<Attempt, 'deliveryId' | 'attempt'>, excerpt: string | null): string | null {
  if (!keys.sealing || excerpt === null) return excerpt;
  return keys.sealText(excerpt, `excerpt:${attempt.deliveryId}:${attempt.attempt}`);
}

export function openExcerpt(keys: DataKeyring, attempt: Pick<Attempt, 'deliveryId' | 'attempt'>, stored: string | null): string | null {
  if (stored === null || sealedKeyId(stored) === null) return stored;
  return keys.openText(stored, `excerpt:${attempt.deliveryId}:${attempt.attempt}`);
}

export class SealedStore implements Store {
  /** `inner` holds what is sealed; `keys` seal and open. */
  constructor(
    readonly inner: Store,
    readonly keys: DataKeyring,
  ) {}

  private sealDeliveries(deliveries: NewDelivery[]): NewDelivery[] {
    if (!this.keys.sealing) return deliveries;
    return deliveries.map((d) => ({ ...d, message: sealMessage(this.keys, d.id, d.message) }));
  }

  private openDelivery = (d: Delivery): Delivery => ({ ...d, message: openMessage(this.keys, d.id, d.message) });
  private openAttempt = (a: Attempt): Attempt => ({ ...a, responseExcerpt: openExcerpt(this.keys, a, a.responseExcerpt) });
  private openEvent = (e: NormalizedEvent): NormalizedEvent => openEvent(this.keys, e);

  migrate(): Promise<number> {
    return this.inner.migrate();
  }

  schemaVersion(): Promise<{ applied: number; latest: number }> {
    return this.inner.schemaVersion();
  }

  insertEvent({ route, ...event }: NewEvent): Promise<InsertResult> {
    return this.inner.insertEvent({
      ...event,
      event: sealEvent(this.keys, event.event),
      ...(route && { route: () => this.sealRouting(route()) }),
    });
  }

  async getEvent(id: string): Promise<NormalizedEvent | undefined> {
    const stored = await this.inner.getEvent(id);
    return stored && this.openEvent(stored);
  }

  routedEventIds(ids: readonly string[]): Promise<Set<string>> {
    return this.inner.routedEventIds(ids);
  }

  routingErrors(eventId: string): Promise<RoutingError[]> {
    return this.inner.routingErrors(eventId);
  }

  async listEvents(filter?: EventFilter): Promise<NormalizedEvent[]> {
    return (await this.inner.listEvents(filter)).map(this.openEvent);
  }

  countEvents(filter?: EventFilter): Promise<number> {
    return this.inner.countEvents(filter);
  }

  async unroutedEvents(limit: number): Promise<NormalizedEvent[]> {
    return (await this.inner.unroutedEvents(limit)).map(this.openEvent);
  }

  markRouted(routings: EventRouting[]): Promise<void> {
    return this.inner.markRouted(routings.map((r) => this.sealRouting(r)));
  }

  private sealRouting(routing: EventRouting): EventRouting {
    return { ...routing, deliveries: this.sealDeliveries(routing.deliveries) };
  }

  async claimEventsToEnrich(request: EnrichmentClaimRequest): Promise<EnrichmentClaim[]> {
    return (await this.inner.claimEventsToEnrich(request)).map((c) => ({ ...c, event: this.openEvent(c.event) }));
  }

  /** The enriched event, or the event as far as a try got (a retry keeps a step done), is sealed like any event. */
  completeEnrichment(eventId: string, outcome: EnrichmentOutcome): Promise<void> {
    return this.inner.completeEnrichment(eventId, outcome.event === undefined ? outcome : { ...outcome, event: sealEvent(this.keys, outcome.event) });
  }

  async claimDueDeliveries(request: ClaimRequest): Promise<Delivery[]> {
    return (await this.inner.claimDueDeliveries(request)).map(this.openDelivery);
  }

  completeAttempt(claimant: string, attempt: Attempt, verdict: AttemptVerdict): Promise<boolean> {
    return this.inner.completeAttempt(claimant, { ...attempt, responseExcerpt: sealExcerpt(this.keys, attempt, attempt.responseExcerpt) }, verdict);
  }

  releaseClaims(claimant?: string): Promise<void> {
    return this.inner.releaseClaims(claimant);
  }

  startServing(claimant: string): Promise<void> {
    return this.inner.startServing(claimant);
  }

  releaseClaimsOfDeadProcesses(): Promise<number> {
    return this.inner.releaseClaimsOfDeadProcesses();
  }

  recoverClaimsAtStartup(): Promise<void> {
    return this.inner.recoverClaimsAtStartup();
  }

  nextDueAt(destinations: readonly string[]): Promise<number | undefined> {
    return this.inner.nextDueAt(destinations);
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const stored = await this.inner.getDelivery(id);
    return stored && this.openDelivery(stored);
  }

  async listDeliveries(filter?: DeliveryFilter): Promise<Delivery[]> {
    return (await this.inner.listDeliveries(filter)).map(this.openDelivery);
  }

  async listAttempts(deliveryId: string): Promise<Attempt[]> {
    return (await this.inner.listAttempts(deliveryId)).map(this.openAttempt);
  }

  retryDelivery(id: string, now: number): Promise<boolean> {
    return this.inner.retryDelivery(id, now);
  }

  deadLetterRemovedDestinations(destinations: readonly string[], madeBeforeMs: number, now: number): Promise<number> {
    return this.inner.deadLetterRemovedDestinations(destinations, madeBeforeMs, now);
  }

  retryDeadLetters(filter: DeadLetterFilter, now: number): Promise<number> {
    return this.inner.retryDeadLetters(filter, now);
  }

  /**
   * A replayed event that changed (a session fetched again) is sealed like any
   * event. Batch entries pass as they are, as markRouted's do: the batch stage
   * reads the events themselves, sealed.
   */
  addDeliveries(additions: AddedDeliveries[], now: number): Promise<void> {
    return this.inner.addDeliveries(
      additions.map((a) => ({ ...a, deliveries: this.sealDeliveries(a.deliveries), ...(a.event && { event: sealEvent(this.keys, a.event) }) })),
      now,
    );
  }

  queueSnapshot(now: number): Promise<QueueSnapshot> {
    return this.inner.queueSnapshot(now);
  }

  recentDeadLetters(sinceMs: number): Promise<Record<string, RecentDeadLetters>> {
    return this.inner.recentDeadLetters(sinceMs);
  }

  recentAttempts(sinceMs: number): Promise<Record<string, RecentAttempts>> {
    return this.inner.recentAttempts(sinceMs);
  }

  pruneEvents(receivedBeforeMs: number, batchSize: number): Promise<number> {
    return this.inner.pruneEvents(receivedBeforeMs, batchSize);
  }

  pruneDedupeKeys(expiredBeforeMs: number, batchSize: number): Promise<number> {
    return this.inner.pruneDedupeKeys(expiredBeforeMs, batchSize);
  }

  async exportEvents(after: string | undefined, limit: number): Promise<EventRecord[]> {
    return (await this.inner.exportEvents(after, limit)).map((record) => ({
      ...record,
      event: this.openEvent(record.event),
      deliveries: record.deliveries.map(({ delivery, attempts }) => ({ delivery: this.openDelivery(delivery), attempts: attempts.map(this.openAttempt) })),
    }));
  }

  importEvents(records: EventRecord[]): Promise<number> {
    return this.inner.importEvents(
      records.map((record) => ({
        ...record,
        event: sealEvent(this.keys, record.event),
        deliveries: record.deliveries.map(({ delivery, attempts }) => ({
          delivery: { ...delivery, message: sealMessage(this.keys, delivery.id, delivery.message) },
          attempts: attempts.map((a) => ({ ...a, responseExcerpt: sealExcerpt(this.keys, a, a.responseExcerpt) })),
        })),
      })),
    );
  }

  claimDueBatches(request: BatchClaimRequest): Promise<Batch[]> {
    return this.inner.claimDueBatches(request);
  }

  /** A batch's messages are sealed like any delivery's, and the event of an empty digest like any event. */
  completeBatch(claimant: string, completion: BatchCompletion): Promise<boolean> {
    return this.inner.completeBatch(claimant, {
      ...completion,
      deliveries: completion.deliveries.map((d) => ({ ...d, message: sealMessage(this.keys, d.id, d.message) })),
      ...(completion.event && { event: sealEvent(this.keys, completion.event) }),
    });
  }

  scheduleBatch(schedule: BatchSchedule): Promise<void> {
    return this.inner.scheduleBatch(schedule);
  }

  nextBatchDueAt(): Promise<number | undefined> {
    return this.inner.nextBatchDueAt();
  }

  /** Threads hold hashes and message ids, no payload value: passed through. */
  claimThread(request: ThreadClaimRequest): Promise<ThreadRecord> {
    return this.inner.claimThread(request);
  }

  setThreadParent(parent: ThreadParent): Promise<boolean> {
    return this.inner.setThreadParent(parent);
  }

  pruneThreads(usedBeforeMs: number, batchSize: number): Promise<number> {
    return this.inner.pruneThreads(usedBeforeMs, batchSize);
  }

  /** Writes what it is given as it is: `herald keys rotate` seals it (see pipeline/rotate-data-key.ts). */
  reseal(changes: Reseal[]): Promise<number> {
    return this.inner.reseal(changes);
  }

  eraseSubject(subject: string, options: { dryRun: boolean }): Promise<ErasedSubject> {
    return this.inner.eraseSubject(subject, options);
  }

  recordAudit(entry: AuditEntry): Promise<void> {
    return this.inner.recordAudit(entry);
  }

  // Media records hold no payload value (an id, a subject, a checksum, a size, a type); their bytes are sealed
  // by SealedMediaFiles (sealed-media-files.ts), whichever files keep them, so they pass through here as they are.

  putMedia(media: StoredMedia): Promise<void> {
    return this.inner.putMedia(media);
  }

  getMedia(id: string): Promise<StoredMedia | undefined> {
    return this.inner.getMedia(id);
  }

  deleteMedia(id: string): Promise<void> {
    return this.inner.deleteMedia(id);
  }

  orphanedMedia(limit: number): Promise<string[]> {
    return this.inner.orphanedMedia(limit);
  }

  putMediaContent(id: string, content: Buffer): Promise<void> {
    return this.inner.putMediaContent(id, content);
  }

  getMediaContent(id: string): Promise<Buffer | undefined> {
    return this.inner.getMediaContent(id);
  }

  deleteMediaContent(id: string): Promise<void> {
    return this.inner.deleteMediaContent(id);
  }

  sharedSecret(name: string, candidate: Buffer): Promise<Buffer> {
    return this.inner.sharedSecret(name, candidate);
  }

  listAudit(filter?: AuditFilter): Promise<AuditEntry[]> {
    return this.inner.listAudit(filter);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
