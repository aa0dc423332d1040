/**
 * What grouping, digests and throttles would send for a list of events
 * (`herald rules test` with several events): the events go through the real
 * route and batch code on a throw-away in-memory store and a simulated clock,
 * each routed at the time herald received it, and every batch is sent when it
 * falls due until every event is sent or held back. Sends nothing.
 */
import type { NormalizedEvent } from '../../core/event.js';
import { silentLogger } from '../../core/log.js';
import type { RenderedMessage } from '../../core/message.js';
import type { ProviderProfile } from '../../providers/provider.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { batchEventView, loadBatchEvents, planBatch, renderBatch } from '../stages/batch.js';
import { planRouting, RouteStage, type RoutingSet } from '../stages/route.js';

export interface PreviewMessage {
  /** When it would be sent (RFC 3339): its batch's due time. */
  at: string;
  rule: string;
  destination: string;
  template: string;
  /** The group key, as templates see it (group.key). */
  key: string;
  /** The events it lists or is about. */
  events: number;
  message: RenderedMessage | null;
  error?: string;
}

export interface BatchPreview {
  messages: PreviewMessage[];
  /** Events counted but not sent: over a throttle's limit. */
  heldBack: number;
}

/** Gives up simulating after this many sends (a digest that sends when empty would go on for ever). */
const MAX_FLUSHES = 10_000;

export async function previewBatches(
  events: readonly NormalizedEvent[],
  routing: RoutingSet,
  providers: Record<string, ProviderProfile>,
): Promise<BatchPreview> {
  const store = new SqliteStore(':memory:');
  await store.migrate();
  let now = 0;
  const route = new RouteStage({ store, routing: () => routing, providers, log: silentLogger(), now: () => now });
  const messages: PreviewMessage[] = [];
  let batched = 0;
  let consumed = 0;
  let heldBack = 0;

  const flushUntil = async (until: number) => {
    for (let i = 0; i < MAX_FLUSHES; i++) {
      const due = await store.nextBatchDueAt();
      if (due === undefined || due > until || consumed === batched) return;
      now = Math.max(now, due);
      for (const batch of await store.claimDueBatches({ limit: 100, claimant: 'preview', claimTtlMs: 60_000, now })) {
        const loaded = await loadBatchEvents(store, batch);
        const plan = planBatch(batch, loaded, now, (event) => batchEventView(event, routing, providers, batch.spec));
        const deliveries = renderBatch(batch, plan, routing);
        await store.completeBatch('preview', { ...plan.completion, deliveries });
        consumed += plan.completion.consumed.length;
        heldBack += plan.heldBack;
        deliveries.forEach((d, j) =>
          messages.push({
            at: new Date(now).toISOString(),
            rule: d.rule,
            destination: d.destination,
            template: d.template,
            key: batch.keyLabel,
            events: plan.messages[j]!.scope.group?.count ?? 1,
            message: d.message,
            ...(d.error && { error: d.error }),
          }),
        );
      }
    }
  };

  try {
    const ordered = [...events].sort((a, b) => receivedMs(a) - receivedMs(b));
    for (const event of ordered) {
      const at = receivedMs(event);
      await flushUntil(at - 1);
      now = Math.max(now, at);
      const provider = providers[event.provider];
      if (provider) batched += planRouting(event, routing, provider, now).batched.length;
      await store.insertEvent({ event, dedupeKey: event.id, dedupeUntilMs: 0 });
      await route.routeOnce();
    }
    await flushUntil(Number.MAX_SAFE_INTEGER);
    return { messages, heldBack };
  } finally {
    await store.close();
  }
}

/** When herald received the event (ms); a file without a readable receivedAt counts as received at 0. */
function receivedMs(event: NormalizedEvent): number {
  const ms = Date.parse(event.receivedAt);
  return Number.isNaN(ms) ? 0 : ms;
}
