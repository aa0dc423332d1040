/**
 * The batch stage: sends the batches of rules with group, digest or throttle
 * (routing/batching.ts) when they fall due. Routing adds each event to its
 * batch in the store; this stage claims the due batches (on PostgreSQL each by
 * one process: SKIP LOCKED and a claim), renders one message per batch (per
 * event for a throttle alone), and in ONE transaction creates the message as
 * an ordinary delivery (retries, dead letters, replay and the attempt log
 * apply), takes the events out of the batch and sets when it is due next.
 *
 * Batches live in the store: one whose time passed while herald was down is
 * due at start-up, and a process killed between claim and completion leaves
 * the batch to be claimed again when its claim expires.
 *
 * Templates of a batch see `events` (this message's, in order), `group`
 * (`key`, `values`, `count`, `omitted`, `first`, `last`), `event` (the newest)
 * and `throttle.suppressed` (events held back since the last message).
 */
import type { NormalizedEvent } from '../../core/event.js';
import { HERALD } from '../../core/event.js';
import { newEventId } from '../../core/ids.js';
import { messageChannelOf } from '../../core/message.js';
import type { Logger } from '../../core/log.js';
import { ownValue } from '../../core/own.js';
import type { ProviderProfile } from '../../providers/provider.js';
import type { HeraldMetrics } from '../mechanisms/metrics.js';
import { nextDigestAt, type BatchSpec } from '../../routing/batching.js';
import type { Batch, BatchCompletion, NewDelivery, Store } from '../../store/store.js';
import { eventView } from '../events/event-view.js';
import { batchThread } from '../events/message-thread.js';
import type { RoutingSet } from './route.js';
import { WorkerLoop, type WorkResult } from '../mechanisms/worker-loop.js';

/** The type of the event an empty digest's message belongs to (it is about no event). */
export const EMPTY_DIGEST_TYPE = 'herald.digest.empty';

export interface BatchDeps {
  store: Store;
  routing: () => RoutingSet;
  providers: Record<string, ProviderProfile>;
  log: Logger;
  /** This process's name on its claims. */
  claimant: string;
  /** Called after messages were created: wakes the deliver stage. */
  onSent?: () => void;
  /** The stage's clock; tests inject one. */
  now?: () => number;
  /** How long a claim lasts before another process may take the batch over (default 30 s). */
  claimTtlMs?: number;
  /** How often to look for due batches at most (other processes' events; default 1 s). */
  pollMs?: number;
  /** Batches per claim (default 20). */
  batchSize?: number;
  metrics?: HeraldMetrics;
}

/** The template variables of one batch message (besides `rule` and `destination`). */
export interface BatchScope {
  event: unknown;
  events?: unknown[];
  group?: { key: string; values: Record<string, unknown>; count: number; omitted: number; first: string | null; last: string | null };
  throttle?: { suppressed: number };
}

/** One message a batch makes, before rendering: what it is about. */
export interface BatchMessage {
  /** The event it belongs to: the newest it is about, or a herald event for an empty digest. */
  eventId: string;
  scope: BatchScope;
  /** The stored events it is about, as received (its thread is theirs, when they share one), and whether that is all of them. */
  about: { events: NormalizedEvent[]; complete: boolean };
}

/** What sending a batch amounts to, before rendering: its messages and the completion's other fields. */
export interface BatchPlan {
  messages: BatchMessage[];
  /** Events this send held back (over a throttle's limit). */
  heldBack: number;
  completion: Omit<BatchCompletion, 'deliveries'>;
}

/**
 * Decides what a claimed batch sends at `now` (pure). `events` are its
 * pending events, at least those neededEvents names (missing ones are skipped), `view` gives an event as the
 * rule's templates see it.
 */
export function planBatch(batch: Batch, events: ReadonlyMap<string, NormalizedEvent>, now: number, view: (event: NormalizedEvent) => unknown): BatchPlan {
  const spec = batch.spec;
  const get = (id: string | undefined) => (id === undefined ? undefined : events.get(id));
  const known = (e: NormalizedEvent | undefined): e is NormalizedEvent => e !== undefined;
  // A group lists its first `max` events and counts them all: only those and the newest need loading (neededEvents).
  const count = batch.eventIds.length;
  let { windowStart, windowSent, suppressed } = batch;
  const throttle = spec.throttle;
  if (throttle && (windowStart === null || now >= windowStart + throttle.perMs)) {
    windowStart = null;
    windowSent = 0;
  }
  const allowed = () => !throttle || windowSent < throttle.max;
  const messages: BatchMessage[] = [];
  let heldBack = 0;
  let synthetic: NormalizedEvent | undefined;
  const send = (eventId: string, scope: BatchScope, about: BatchMessage['about']) => {
    messages.push({ eventId, scope: throttle ? { ...scope, throttle: { suppressed } } : scope, about });
    suppressed = 0;
    windowSent++;
    windowStart ??= now;
  };

  if (spec.kind === 'throttle') {
    for (const event of batch.eventIds.map(get).filter(known)) {
      if (allowed()) send(event.id, { event: view(event) }, { events: [event], complete: true });
      else {
        heldBack++;
        suppressed++;
      }
    }
  } else if (count > 0 || (spec.kind === 'digest' && spec.digest!.sendEmpty)) {
    if (!allowed()) {
      suppressed += count;
      heldBack += count;
    } else {
      const listed = batch.eventIds.slice(0, spec.max).map(get).filter(known);
      const newest = get(batch.eventIds.at(-1)) ?? listed.at(-1);
      if (!newest) synthetic = emptyDigestEvent(batch, now);
      const about = newest ?? synthetic!;
      const loaded = newest && !listed.includes(newest) ? [...listed, newest] : listed;
      send(
        about.id,
        {
          event: view(about),
          events: listed.map(view),
          group: {
            key: batch.keyLabel,
            values: batch.keyValues,
            count,
            omitted: Math.max(0, count - spec.max),
            first: listed[0]?.receivedAt ?? null,
            last: newest?.receivedAt ?? null,
          },
        },
        { events: loaded, complete: loaded.length === count },
      );
    }
  }

  const next = nextDue(spec, now);
  return {
    messages,
    heldBack,
    completion: {
      batchId: batch.id,
      consumed: batch.eventIds,
      ...(synthetic && { event: synthetic }),
      sentAt: messages.length > 0 || count > 0 ? now : null,
      dueIfPending: next.ifPending,
      dueIfEmpty: next.ifEmpty,
      windowStart,
      windowSent,
      suppressed,
    },
  };
}

/**
 * When a batch is due after a message: a group's next events wait at least an
 * interval, a digest's until its next period ends (sent then even if empty
 * with sendEmpty), a throttle's go at once.
 */
function nextDue(spec: BatchSpec, now: number): { ifPending: number; ifEmpty: number | null } {
  if (spec.kind === 'group') return { ifPending: now + spec.intervalMs!, ifEmpty: null };
  if (spec.kind === 'digest') {
    const at = nextDigestAt(spec.digest!, now);
    return { ifPending: at, ifEmpty: spec.digest!.sendEmpty ? at : null };
  }
  return { ifPending: now, ifEmpty: null };
}

/** The event an empty digest's message belongs to: herald's, stored routed (no rule sees it). */
function emptyDigestEvent(batch: Batch, now: number): NormalizedEvent {
  const time = new Date(now).toISOString();
  return {
    specversion: '1.0',
    id: newEventId(),
    source: HERALD,
    provider: HERALD,
    type: EMPTY_DIGEST_TYPE,
    category: 'operations',
    outcome: null,
    subject: null,
    time,
    receivedAt: time,
    providerEventId: null,
    datacontenttype: 'application/json',
    data: { rule: batch.rule, destination: batch.destination, message: `no events matched rule "${batch.rule}" this period` },
  };
}

/** Renders a plan's messages for the batch's destination; a failure makes a dead delivery with the reason, as routing does. */
export function renderBatch(batch: Batch, plan: BatchPlan, routing: RoutingSet): Array<NewDelivery & { eventId: string }> {
  // The notify entry as the rule has it now (threadBy, broadcast, updateParent); the destination's settings once it is gone.
  const notify = routing.rules.rules
    .find((rule) => rule.name === batch.rule)
    ?.notify.find((n) => n.to === batch.destination && n.template === batch.template) ?? { to: batch.destination, template: batch.template };
  return plan.messages.map(({ eventId, scope, about }) => {
    const base = { id: newEventId(), eventId, rule: batch.rule, destination: batch.destination, template: batch.template };
    const destination = ownValue(routing.destinations, batch.destination);
    if (!destination) {
      return { ...base, message: null, status: 'dead' as const, error: `destination-removed: destination "${batch.destination}" is no longer in the config` };
    }
    try {
      const message = routing.templates.render(
        batch.template,
        messageChannelOf(destination.type),
        {
          ...scope,
          rule: { name: batch.rule },
          destination: { name: destination.name, type: destination.type },
        },
        { format: destination.type === 'webhook' ? destination.options.format : undefined },
      );
      const thread = message.channel === 'webhook' ? undefined : batchThread(about.events, about.complete, batch.spec.by, notify, destination);
      return { ...base, message: thread ? { ...message, thread } : message, status: 'pending' as const };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return { ...base, message: null, status: 'dead' as const, error: `render-failed: ${reason}` };
    }
  });
}

/** An event as a batch's templates see it: redacted unless the rule or its source includes personal fields. */
export function batchEventView(event: NormalizedEvent, routing: RoutingSet, providers: Record<string, ProviderProfile>, spec: BatchSpec): unknown {
  const provider = ownValue(providers, event.provider);
  return provider ? eventView(event, provider, ownValue(routing.sources, event.source), spec.pii) : event;
}

/**
 * The batch with `sendEmpty` as its rule has it now: a digest whose rule was
 * removed, disabled or changed sends what it holds, and no more empty periods.
 */
function withCurrentSendEmpty(batch: Batch, routing: RoutingSet): Batch {
  const digest = batch.spec.digest;
  if (!digest?.sendEmpty) return batch;
  const rule = routing.rules.rules.find((r) => r.name === batch.rule);
  if (rule?.enabled && rule.batching?.digest?.sendEmpty) return batch;
  return { ...batch, spec: { ...batch.spec, digest: { ...digest, sendEmpty: false } } };
}

/** The pending events a batch's message needs: a throttle's every one; a group's or digest's first `max` and the newest. */
export function neededEvents(batch: Batch): string[] {
  const ids = batch.eventIds;
  if (batch.spec.kind === 'throttle' || ids.length <= batch.spec.max) return ids;
  return [...ids.slice(0, batch.spec.max), ids.at(-1)!];
}

/** Loads the pending events a claimed batch's message needs (one that is gone is skipped). */
export async function loadBatchEvents(store: Store, batch: Batch): Promise<Map<string, NormalizedEvent>> {
  const events = new Map<string, NormalizedEvent>();
  for (const id of neededEvents(batch)) {
    const event = await store.getEvent(id);
    if (event) events.set(id, event);
  }
  return events;
}

export class BatchStage {
  private readonly loop: WorkerLoop;
  private readonly now: () => number;

  constructor(private readonly deps: BatchDeps) {
    this.now = deps.now ?? Date.now;
    this.loop = new WorkerLoop(
      () => this.work(),
      (error) => deps.log.error({ err: error instanceof Error ? error.message : String(error) }, 'sending batches failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
    void this.scheduleEmptyDigests().catch((error: unknown) =>
      this.deps.log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'could not schedule the digests that send when empty; will try again at the next reload',
      ),
    );
  }

  /** Events joined batches, or the config changed. */
  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * Digests with `sendEmpty` are due whether or not an event opens them: gives
   * each (rule, destination) its batch and due time unless it has one.
   */
  async scheduleEmptyDigests(): Promise<void> {
    const now = this.now();
    for (const rule of this.deps.routing().rules.rules) {
      const spec = rule.batching;
      if (!rule.enabled || spec?.kind !== 'digest' || !spec.digest!.sendEmpty) continue;
      // A digest's key has only throttle paths; the empty one is the batch of no key.
      const values = Object.fromEntries(spec.by.map((path) => [path, null]));
      for (const notify of rule.notify) {
        await this.deps.store.scheduleBatch({
          rule: rule.name,
          destination: notify.to,
          template: notify.template,
          key: JSON.stringify(spec.by.map(() => null)),
          keyLabel: spec.by.map(() => 'null').join(', '),
          keyValues: values,
          spec,
          dueAt: nextDigestAt(spec.digest!, now),
        });
      }
    }
  }

  /** Sends the batches due now; returns how many it handled. */
  async flushOnce(): Promise<number> {
    const { store, claimant, log } = this.deps;
    const limit = this.deps.batchSize ?? 20;
    const batches = await store.claimDueBatches({ limit, claimant, claimTtlMs: this.deps.claimTtlMs ?? 30_000, now: this.now() });
    let sent = 0;
    for (const batch of batches) {
      const events = await loadBatchEvents(store, batch);
      const routing = this.deps.routing();
      const now = this.now();
      const plan = planBatch(withCurrentSendEmpty(batch, routing), events, now, (event) => batchEventView(event, routing, this.deps.providers, batch.spec));
      const deliveries = renderBatch(batch, plan, routing);
      for (const d of deliveries) {
        if (d.status === 'dead') log.warn({ rule: d.rule, template: d.template, err: d.error }, 'batch message failed to render');
      }
      const done = await store.completeBatch(claimant, { ...plan.completion, deliveries });
      if (!done) {
        log.warn(
          { rule: batch.rule, destination: batch.destination },
          'batch was taken over by another process before it was completed; its messages are left to it',
        );
        continue;
      }
      sent += deliveries.length;
      if (deliveries.length > 0) this.deps.metrics?.batchMessages.inc({ rule: batch.rule }, deliveries.length);
      if (plan.heldBack > 0) this.deps.metrics?.throttledEvents.inc({ rule: batch.rule }, plan.heldBack);
    }
    if (sent > 0) this.deps.onSent?.();
    return batches.length;
  }

  private async work(): Promise<WorkResult> {
    const handled = await this.flushOnce();
    if (handled === (this.deps.batchSize ?? 20)) return { again: true };
    const poll = this.deps.pollMs ?? 1000;
    const due = await this.deps.store.nextBatchDueAt();
    return { again: false, sleepMs: due === undefined ? poll : Math.min(poll, Math.max(0, due - this.now())) };
  }
}
