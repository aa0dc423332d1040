/**
 * The Store contract: what every implementation must do, as mocha tests.
 * test/store/sqlite.test.ts and test/store/postgres.test.ts run it, each with
 * a factory for a fresh, migrated, empty store.
 */
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import {
  pageOf,
  type Attempt,
  type AttemptVerdict,
  type AuditEntry,
  type AuditFilter,
  type BatchEntry,
  type DeliveryFilter,
  type EventFilter,
  type NewDelivery,
  type NewEvent,
  type Store,
} from '../../src/store/store.js';

export interface StoreHarness {
  /** A fresh, migrated, empty store; disposed of after each test by `dispose`. */
  open(): Promise<Store>;
  /** Closes what `open` opened (the store may already be closed) and removes its data. */
  dispose(): Promise<void>;
  /** Whether several processes share the store (their claims survive a restart of one). */
  shared: boolean;
  /** Removes what the stores of every test shared, once they are all done. */
  disposeAll?(): Promise<void>;
}

const HOUR = 3_600_000;

export function event(source = 'facesign', overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  const now = new Date().toISOString();
  return {
    specversion: '1.0',
    id: newEventId(),
    source,
    provider: 'facesign',
    type: 'session.status',
    category: 'verification',
    outcome: null,
    subject: 'sess_1',
    time: now,
    receivedAt: now,
    providerEventId: 'evt_1',
    datacontenttype: 'application/json',
    data: { id: 'evt_1' },
    ...overrides,
  };
}

export function newEvent(key: string, overrides: Partial<NewEvent> = {}, source = 'facesign'): NewEvent {
  return { event: event(source), dedupeKey: key, dedupeUntilMs: Date.now() + 60_000, ...overrides };
}

export function delivery(destination = 'hook'): NewDelivery {
  return {
    id: newEventId(),
    rule: 'r',
    destination,
    template: 't',
    status: 'pending',
    message: { channel: 'webhook', body: { hello: 'world' }, contentType: 'application/json' },
  };
}

export const GROUP_WAIT_MS = 30_000;
export const GROUP_INTERVAL_MS = 300_000;
/** An entry of a group of `sess_1` (wait 30 s, interval 5 min) as routing at `now` makes it. */
export function groupEntry(now: number): BatchEntry {
  return {
    rule: 'grouped',
    destination: 'hook',
    template: 'summary',
    key: JSON.stringify(['sess_1']),
    keyLabel: 'sess_1',
    keyValues: { subject: 'sess_1' },
    spec: { kind: 'group', by: ['subject'], max: 100, waitMs: GROUP_WAIT_MS, intervalMs: GROUP_INTERVAL_MS },
    firstDueAt: now + GROUP_WAIT_MS,
    intervalMs: GROUP_INTERVAL_MS,
    now,
  };
}

export function attempt(deliveryId: string, n = 1): Attempt {
  return { deliveryId, attempt: n, startedAt: Date.now(), durationMs: 5, outcome: 'delivered', status: 200, reason: null, error: null, responseExcerpt: 'ok' };
}

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`${name}: the Store contract`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      await harness.dispose();
    });
    after(async () => {
      await harness.disposeAll?.();
    });

    /** Stores an event, routes it with these deliveries, and returns its id. */
    async function routedEvent(...deliveries: NewDelivery[]): Promise<string> {
      const e = event();
      await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries }]);
      return e.id;
    }

    const claim = (claimant: string, now = Date.now(), limit = 10, claimTtlMs = 1000, destination = 'hook') =>
      store.claimDueDeliveries({ destination, limit, claimant, claimTtlMs, now });

    describe('events and dedupe', () => {
      it('migrates once: a second migrate changes nothing', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        const version = await store.migrate();
        assert.equal(await store.migrate(), version);
        assert.deepEqual(await store.getEvent(e.id), e);
      });

      it('stores an event and reads it back as it was', async () => {
        const e = event();
        assert.deepEqual(await store.insertEvent({ event: e, dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 }), { status: 'stored', id: e.id });
        assert.deepEqual(await store.getEvent(e.id), e);
        assert.equal(await store.getEvent(newEventId()), undefined);
      });

      it('stores text with U+0000 or a lone surrogate in any field, and reads the event back exactly', async () => {
        const e = event('facesign', { type: 'session.\u0000status', subject: 'a\u0000b\ud800', providerEventId: '\u0000', data: { id: 'x\u0000y\udc00' } });
        assert.equal((await store.insertEvent({ event: e, dedupeKey: 'k\u0000', dedupeUntilMs: Date.now() + 60_000 })).status, 'stored');
        assert.deepEqual(await store.getEvent(e.id), e);
        assert.equal((await store.insertEvent(newEvent('k\u0000'))).status, 'duplicate');
      });

      it('answers duplicate for a known key of the same source, naming the first event', async () => {
        const first = event();
        await store.insertEvent({ event: first, dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        const again = await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        assert.deepEqual(again, { status: 'duplicate', id: first.id });
        assert.equal(await store.countEvents(), 1);
      });

      it('keeps dedupe keys per source', async () => {
        await store.insertEvent({ event: event('a'), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        const other = await store.insertEvent({ event: event('b'), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        assert.equal(other.status, 'stored');
      });

      it('forgets a dedupe key once its window has passed', async () => {
        await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() - 1 });
        const later = await store.insertEvent({ event: event(), dedupeKey: 'k1', dedupeUntilMs: Date.now() + 60_000 });
        assert.equal(later.status, 'stored');
        assert.equal(await store.countEvents(), 2);
        // The new event now owns the key.
        assert.deepEqual(await store.insertEvent(newEvent('k1')), { status: 'duplicate', id: later.id });
      });

      it('stores concurrent inserts each once; the same key sent concurrently is stored once and every other answer names it', async () => {
        const unique = Array.from({ length: 200 }, (_, i) => newEvent(`k${i}`));
        const same = Array.from({ length: 20 }, () => newEvent('same'));
        const results = await Promise.all([...unique, ...same].map((e) => store.insertEvent(e)));
        assert.ok(results.slice(0, 200).every((r, i) => r.status === 'stored' && r.id === unique[i]!.event.id));
        const sameResults = results.slice(200);
        const stored = sameResults.filter((r) => r.status === 'stored');
        assert.equal(stored.length, 1);
        assert.ok(sameResults.every((r) => r.id === stored[0]!.id));
        assert.equal(await store.countEvents(), 201);
      });

      it('fails a write alone: the other writes of its batch are stored and answered, it alone gets its error', async () => {
        const first = event();
        await store.insertEvent({ event: first, dedupeKey: 'first', dedupeUntilMs: Date.now() + 60_000 });
        const good = Array.from({ length: 40 }, (_, i) => newEvent(`good-${i}`));
        // Written together (one turn of the event loop): an event id that is taken, and an event without a category.
        const bad = [
          { event: { ...event(), id: first.id }, dedupeKey: 'taken-id', dedupeUntilMs: Date.now() + 60_000 },
          { event: event('facesign', { category: undefined as never }), dedupeKey: 'no-category', dedupeUntilMs: Date.now() + 60_000 },
        ];
        const writes = [...good.slice(0, 20), bad[0]!, ...good.slice(20), bad[1]!];
        const results = await Promise.allSettled(writes.map((w) => store.insertEvent(w)));
        const outcome = (w: NewEvent) => results[writes.indexOf(w)]!;
        for (const w of good) assert.deepEqual(outcome(w), { status: 'fulfilled', value: { status: 'stored', id: w.event.id } });
        for (const w of bad) assert.equal(outcome(w).status, 'rejected', w.dedupeKey);
        assert.equal(await store.countEvents(), 41);
        // Nothing of the failed writes was kept: their keys are free.
        assert.equal((await store.insertEvent(newEvent('taken-id'))).status, 'stored');
        assert.equal((await store.insertEvent(newEvent('no-category'))).status, 'stored');
      });

      it('lists events in the order received, by source, after a cursor, up to a limit', async () => {
        const events = [event('a'), event('b'), event('a'), event('a')];
        for (const [i, e] of events.entries()) await store.insertEvent({ event: e, dedupeKey: `k${i}`, dedupeUntilMs: Date.now() + 60_000 });
        assert.deepEqual(
          (await store.listEvents()).map((e) => e.id),
          events.map((e) => e.id),
        );
        assert.deepEqual(
          (await store.listEvents({ source: 'a' })).map((e) => e.id),
          [events[0]!.id, events[2]!.id, events[3]!.id],
        );
        assert.deepEqual(
          (await store.listEvents({ source: 'a', after: events[0]!.id, limit: 1 })).map((e) => e.id),
          [events[2]!.id],
        );
      });

      it('answers ping while open, and rejects writes once closed', async () => {
        await store.ping();
        await store.close();
        await assert.rejects(store.insertEvent(newEvent('late')), StoreUnavailableError);
      });
    });

    describe('routing', () => {
      it('marks an event routed once: routing it again creates no second set of deliveries', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: 'k', dedupeUntilMs: Date.now() + 60_000 });
        assert.deepEqual(
          (await store.unroutedEvents(10)).map((x) => x.id),
          [e.id],
        );
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] }]);
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v2', deliveries: [delivery(), delivery()] }]);
        assert.deepEqual(await store.unroutedEvents(10), []);
        assert.equal((await store.listDeliveries({ eventId: e.id })).length, 1);
      });

      it('writes the routing an insert offers with the event, or asks for none and leaves the event to route; a duplicate asks for none', async () => {
        const e = event();
        const [d, errors] = [delivery(), [{ rule: 'r', error: 'TypeError: x' }]];
        let asked = 0;
        const route = () => (asked++, { eventId: e.id, rulesVersion: 'v1', deliveries: [d], errors });
        assert.equal((await store.insertEvent({ event: e, dedupeKey: 'k', dedupeUntilMs: Date.now() + 60_000, route })).status, 'stored');
        if (asked === 1) {
          assert.deepEqual(await store.unroutedEvents(10), []);
          assert.deepEqual([...(await store.routedEventIds([e.id]))], [e.id]);
          assert.deepEqual(
            (await store.listDeliveries({ eventId: e.id })).map((x) => x.id),
            [d.id],
          );
          assert.deepEqual(await store.routingErrors(e.id), errors);
        } else {
          assert.equal(asked, 0);
          assert.deepEqual(
            (await store.unroutedEvents(10)).map((x) => x.id),
            [e.id],
          );
        }
        const seen = asked;
        assert.equal((await store.insertEvent({ event: event(), dedupeKey: 'k', dedupeUntilMs: Date.now() + 60_000, route })).status, 'duplicate');
        assert.equal(asked, seen);
      });

      it('routes each event exactly once when the same events are routed concurrently', async () => {
        const events = Array.from({ length: 50 }, () => event());
        await Promise.all(events.map((e) => store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 })));
        assert.deepEqual(
          (await store.unroutedEvents(100)).map((e) => e.id),
          events.map((e) => e.id).sort(),
        );
        const route = () => store.markRouted(events.map((e) => ({ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] })));
        await Promise.all([route(), route(), route()]);
        const deliveries = await store.listDeliveries({ limit: 1000 });
        assert.equal(deliveries.length, 50);
        assert.deepEqual(new Set(deliveries.map((d) => d.eventId)), new Set(events.map((e) => e.id)));
        assert.deepEqual(await store.unroutedEvents(100), []);
      });

      it('keeps what went wrong routing an event with it, and nothing for the others', async () => {
        const [failed, clean] = [event(), event()];
        for (const e of [failed, clean]) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        const errors = [
          { rule: 'kyc-approved-but-flagged', error: 'TypeError: Cannot convert object to primitive value' },
          { rule: null, error: 'x\u0000"y' },
        ];
        await store.markRouted([
          { eventId: failed.id, rulesVersion: 'v1', deliveries: [delivery()], errors },
          { eventId: clean.id, rulesVersion: 'v1', deliveries: [delivery()] },
        ]);
        assert.deepEqual(await store.routingErrors(failed.id), errors);
        assert.deepEqual(await store.routingErrors(clean.id), []);
        assert.deepEqual(await store.routingErrors(newEventId()), []);
        assert.equal((await store.listDeliveries({ eventId: failed.id })).length, 1);
      });

      it('tells which events are routed already: not one waiting for routing, nor an unknown id', async () => {
        const [routed, waiting] = [event(), event()];
        for (const e of [routed, waiting]) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: routed.id, rulesVersion: 'v1', deliveries: [] }]);
        assert.deepEqual([...(await store.routedEventIds([routed.id, waiting.id, newEventId()]))], [routed.id]);
        assert.deepEqual([...(await store.routedEventIds([]))], []);
      });

      it('hands out unrouted events oldest first, up to the limit, and the rest on the next call', async () => {
        const events = Array.from({ length: 5 }, () => event());
        for (const e of events) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        const first = await store.unroutedEvents(3);
        assert.deepEqual(
          first.map((e) => e.id),
          events.slice(0, 3).map((e) => e.id),
        );
        await store.markRouted(first.map((e) => ({ eventId: e.id, rulesVersion: 'v1', deliveries: [] })));
        assert.deepEqual(
          (await store.unroutedEvents(3)).map((e) => e.id),
          events.slice(3).map((e) => e.id),
        );
      });
    });

    describe('enrichment', () => {
      const T0 = Date.now();
      const insert = (e: NormalizedEvent, enrichDueAtMs?: number) =>
        store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: T0 + 60_000, ...(enrichDueAtMs !== undefined && { enrichDueAtMs }) });

      it('keeps an event waiting for enrichment away from routing until it is enriched, then routes it as enriched', async () => {
        const waiting = event();
        const plain = event();
        await insert(waiting, T0);
        await insert(plain);
        assert.deepEqual(
          (await store.unroutedEvents(10)).map((e) => e.id),
          [plain.id],
        );
        const [claimed, ...rest] = await store.claimEventsToEnrich({ limit: 10, leaseMs: 1000, now: T0 });
        assert.deepEqual(rest, []);
        assert.equal(claimed!.event.id, waiting.id);
        assert.equal(claimed!.attempts, 1);
        const enriched: NormalizedEvent = {
          ...waiting,
          outcome: 'completed',
          session: { id: 'sess_1', status: 'complete' },
          enrichment: { fetchedAt: new Date(T0).toISOString(), attempts: 1, error: null },
        };
        await store.completeEnrichment(waiting.id, { event: enriched });
        assert.deepEqual(await store.getEvent(waiting.id), enriched);
        assert.deepEqual((await store.unroutedEvents(10)).map((e) => e.id).sort(), [plain.id, waiting.id].sort());
        assert.deepEqual(
          (await store.listEvents({ outcome: 'completed' })).map((e) => e.id),
          [waiting.id],
        );
        // A late completion (another process whose lease ran out) changes nothing.
        await store.completeEnrichment(waiting.id, { retryAt: T0 + 5000 });
        await store.completeEnrichment(waiting.id, { event: { ...waiting, session: null } });
        assert.deepEqual(await store.getEvent(waiting.id), enriched);
        assert.deepEqual(await store.claimEventsToEnrich({ limit: 10, leaseMs: 1000, now: T0 + 10_000 }), []);
      });

      it('hands out only due tries, leases them, and counts each try', async () => {
        const e = event();
        await insert(e, T0 + 1000);
        assert.deepEqual(await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 }), []);
        assert.equal((await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 1000 }))[0]!.attempts, 1);
        // Leased: not handed out again until the lease ends (a process that died mid-way).
        assert.deepEqual(await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 1499 }), []);
        assert.equal((await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 1500 }))[0]!.attempts, 2);
        await store.completeEnrichment(e.id, { retryAt: T0 + 9000 });
        assert.deepEqual(await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 8999 }), []);
        assert.equal((await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 9000 }))[0]!.attempts, 3);
        assert.deepEqual(await store.unroutedEvents(10), []);
      });

      it('keeps a step done while the event waits for another: a retry may carry the event as far as it got', async () => {
        const e = event();
        await insert(e, T0);
        await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 });
        const halfway: NormalizedEvent = {
          ...e,
          outcome: 'completed',
          session: { status: 'complete' },
          enrichment: { fetchedAt: null, attempts: 1, error: null },
        };
        await store.completeEnrichment(e.id, { retryAt: T0 + 2000, event: halfway });
        assert.deepEqual(await store.getEvent(e.id), halfway);
        assert.deepEqual(await store.unroutedEvents(10), [], 'still waiting');
        assert.deepEqual(
          (await store.listEvents({ outcome: 'completed' })).map((x) => x.id),
          [e.id],
        );
        assert.deepEqual((await store.claimEventsToEnrich({ limit: 10, leaseMs: 500, now: T0 + 2000 }))[0]!.event, halfway);
      });

      it('never hands one try to two concurrent claimants', async () => {
        const events = Array.from({ length: 20 }, () => event());
        for (const e of events) await insert(e, T0);
        const claims = await Promise.all([1, 2, 3].map(() => store.claimEventsToEnrich({ limit: 10, leaseMs: 60_000, now: T0 })));
        const ids = claims.flat().map((c) => c.event.id);
        assert.equal(ids.length, 20);
        assert.equal(new Set(ids).size, 20);
      });
    });

    describe('media', () => {
      const media = (eventId: string, subject: string | null = 'sess_1') => ({
        id: eventId,
        eventId,
        subject,
        sha256: 'ab'.repeat(32),
        bytes: 3,
        contentType: 'image/jpeg',
        createdAt: 1_795_000_000_000,
      });

      it('keeps a media record and its bytes, replaces them by id, and deletes them', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        assert.equal(await store.getMedia(e.id), undefined);
        await store.putMedia(media(e.id));
        await store.putMedia({ ...media(e.id), bytes: 4 });
        assert.deepEqual(await store.getMedia(e.id), { ...media(e.id), bytes: 4 });
        const bytes = Buffer.from([0, 0xff, 0xd8, 0x00, 0x7f]);
        await store.putMediaContent(e.id, Buffer.from('old'));
        await store.putMediaContent(e.id, bytes);
        assert.ok((await store.getMediaContent(e.id))!.equals(bytes), 'binary-safe, the latest');
        await store.deleteMediaContent(e.id);
        assert.equal(await store.getMediaContent(e.id), undefined);
        await store.deleteMedia(e.id);
        assert.equal(await store.getMedia(e.id), undefined);
      });

      it('names the media whose event is gone (retention), and only those', async () => {
        const old = event('facesign', { receivedAt: new Date(Date.now() - 40 * 86_400_000).toISOString() });
        const young = event();
        for (const e of [old, young]) {
          await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
          await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
          await store.putMedia(media(e.id));
        }
        assert.deepEqual(await store.orphanedMedia(10), []);
        assert.equal(await store.pruneEvents(Date.now() - 30 * 86_400_000, 10), 1);
        assert.deepEqual(await store.orphanedMedia(10), [old.id]);
      });

      it('keeps the first shared secret of a name for everyone', async () => {
        const first = await store.sharedSecret('media-links', Buffer.from('first-secret'));
        const second = await store.sharedSecret('media-links', Buffer.from('second-secret'));
        assert.equal(first.toString(), 'first-secret');
        assert.equal(second.toString(), 'first-secret');
        assert.equal((await store.sharedSecret('other', Buffer.from('x'))).toString(), 'x');
      });
    });

    describe('deliveries', () => {
      it('lets one claimant claim a due delivery, and nobody else until the claim expires', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        const first = await claim('a', now);
        const second = await claim('b', now);
        assert.equal(first.length, 1);
        assert.equal(second.length, 0);
        const takeover = await claim('b', now + 1001);
        assert.deepEqual(
          takeover.map((d) => d.id),
          first.map((d) => d.id),
        );
        // The first claimant lost its claim: its late completion is ignored.
        assert.equal(await store.completeAttempt('a', attempt(first[0]!.id), { status: 'delivered' }), false);
        assert.equal(await store.completeAttempt('b', attempt(first[0]!.id), { status: 'delivered' }), true);
        const done = await store.getDelivery(first[0]!.id);
        assert.equal(done!.status, 'delivered');
        assert.equal(done!.attempts, 1);
        assert.equal((await store.listAttempts(first[0]!.id)).length, 1);
      });

      it('claims only due deliveries of the named destination, up to the limit', async () => {
        await routedEvent(delivery('hook'), delivery('hook'), delivery('hook'), delivery('slack'));
        const claimed = await claim('a', Date.now(), 2);
        assert.equal(claimed.length, 2);
        assert.ok(claimed.every((d) => d.destination === 'hook'));
      });

      it('never hands one delivery to two concurrent claimants', async () => {
        await routedEvent(...Array.from({ length: 60 }, () => delivery()));
        const now = Date.now();
        const claims = await Promise.all(['a', 'b', 'c', 'd'].map((c) => claim(c, now, 20)));
        const ids = claims.flat().map((d) => d.id);
        assert.equal(ids.length, 60);
        assert.equal(new Set(ids).size, 60);
      });

      it('lets only the claim owner complete an attempt; anyone else changes nothing', async () => {
        await routedEvent(delivery());
        const [d] = await claim('a', Date.now(), 1, 60_000);
        assert.equal(await store.completeAttempt('b', attempt(d!.id), { status: 'delivered' }), false);
        assert.equal((await store.getDelivery(d!.id))!.status, 'pending');
        assert.deepEqual(await store.listAttempts(d!.id), []);
        assert.equal(await store.completeAttempt('a', attempt(d!.id), { status: 'delivered' }), true);
        // Done: a second completion, even by the owner, is ignored.
        assert.equal(await store.completeAttempt('a', attempt(d!.id, 2), { status: 'delivered' }), false);
        assert.deepEqual(
          (await store.listAttempts(d!.id)).map((a) => a.attempt),
          [1],
        );
      });

      it('schedules a retry: the delivery is not due before nextAttemptAt, and nextDueAt says when', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        const [d] = await claim('a', now, 1, 60_000);
        assert.equal(await store.nextDueAt(['hook']), now + 60_000, 'a claimed delivery falls due when its claim expires');
        await store.completeAttempt(
          'a',
          { ...attempt(d!.id), outcome: 'retry', status: 500, reason: 'server-error', error: 'HTTP 500' },
          { status: 'pending', nextAttemptAt: now + 5000 },
        );
        assert.equal(await store.nextDueAt(['hook']), now + 5000);
        assert.equal(await store.nextDueAt(['other']), undefined);
        assert.equal(await store.nextDueAt(['other', 'hook']), now + 5000);
        assert.deepEqual(await claim('a', now + 4999, 1), []);
        const retried = await claim('b', now + 5000, 1);
        assert.equal(retried.length, 1);
        assert.equal(retried[0]!.attempts, 1, 'the retry is attempt 2');
        const stored = await store.getDelivery(d!.id);
        assert.equal(stored!.lastError, 'server-error: HTTP 500');
        const [recorded] = await store.listAttempts(d!.id);
        assert.deepEqual([recorded!.outcome, recorded!.status, recorded!.reason, recorded!.error], ['retry', 500, 'server-error', 'HTTP 500']);
      });

      it('keeps dead letters with their reason, and never claims them', async () => {
        await routedEvent({ ...delivery(), message: null, status: 'dead', error: 'render-failed: undefined variable' });
        assert.deepEqual(await claim('a'), []);
        const [dead] = await store.listDeliveries({ status: 'dead' });
        assert.equal(dead!.lastError, 'render-failed: undefined variable');
        assert.equal(dead!.message, null);
      });

      it('dead-letters a delivery on a dead verdict: kept with its attempt, never claimed again', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        const [d] = await claim('a', now);
        const failed: Attempt = {
          ...attempt(d!.id),
          outcome: 'dead',
          status: 400,
          reason: 'client-error',
          error: 'HTTP 400',
          responseExcerpt: 'bad\u0000request',
        };
        assert.equal(await store.completeAttempt('a', failed, { status: 'dead' }), true);
        assert.deepEqual(await claim('b', now + HOUR), []);
        assert.equal(await store.nextDueAt(['hook']), undefined);
        const [dead] = await store.listDeliveries({ status: 'dead', destination: 'hook' });
        assert.equal(dead!.id, d!.id);
        assert.equal(dead!.lastError, 'client-error: HTTP 400');
        assert.equal((await store.listAttempts(d!.id))[0]!.outcome, 'dead');
      });

      it('releases claims on request, so the deliveries are due again at once', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        await claim('a', now, 1, 60_000);
        await store.releaseClaims('a');
        assert.equal((await claim('b', now, 1)).length, 1);
        await store.releaseClaims();
        assert.equal((await claim('c', now, 1)).length, 1);
      });

      it(
        harness.shared
          ? 'keeps live claims at start-up: other processes hold them'
          : 'releases every claim at start-up: only a previous run of the owner can hold one',
        async () => {
          await routedEvent(delivery());
          const now = Date.now();
          await claim('previous-run', now, 1, 60_000);
          await store.recoverClaimsAtStartup();
          assert.equal((await claim('new-run', now, 1)).length, harness.shared ? 0 : 1);
        },
      );
    });

    describe('retention', () => {
      const longAgo = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

      async function storedAt(receivedAt: string, routed: NewDelivery[] | 'unrouted'): Promise<string> {
        const e = event('facesign', { receivedAt });
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        if (routed !== 'unrouted') await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: routed }]);
        return e.id;
      }

      it('prunes events past the retention with their deliveries and attempts, in bounded batches', async () => {
        const old = [];
        for (let i = 0; i < 3; i++) old.push(await storedAt(longAgo(40 * 24 * HOUR), [delivery()]));
        for (const claimed of await claim('a')) await store.completeAttempt('a', attempt(claimed.id), { status: 'delivered' });
        const recent = await storedAt(longAgo(HOUR), [delivery()]);
        const cutoff = Date.now() - 30 * 24 * HOUR;

        assert.equal(await store.pruneEvents(cutoff, 2), 2);
        assert.equal(await store.pruneEvents(cutoff, 2), 1);
        assert.equal(await store.pruneEvents(cutoff, 2), 0);
        assert.deepEqual(
          (await store.listEvents()).map((e) => e.id),
          [recent],
        );
        for (const id of old) {
          assert.equal(await store.getEvent(id), undefined);
          assert.deepEqual(await store.listDeliveries({ eventId: id }), []);
        }
        assert.equal((await store.listDeliveries()).length, 1);
      });

      it('keeps old events that are not routed yet or still have a pending delivery', async () => {
        const unrouted = await storedAt(longAgo(40 * 24 * HOUR), 'unrouted');
        const pending = await storedAt(longAgo(40 * 24 * HOUR), [delivery()]);
        const dead = await storedAt(longAgo(40 * 24 * HOUR), [{ ...delivery(), message: null, status: 'dead', error: 'render-failed: x' }]);
        assert.equal(await store.pruneEvents(Date.now() - 30 * 24 * HOUR, 100), 1);
        assert.deepEqual((await store.listEvents()).map((e) => e.id).sort(), [unrouted, pending].sort());
        assert.equal(await store.getEvent(dead), undefined);
      });

      it('prunes an old event once its deliveries to a removed destination are dead letters', async () => {
        const old = await storedAt(longAgo(40 * 24 * HOUR), [delivery('gone')]);
        const cutoff = Date.now() - 30 * 24 * HOUR;
        assert.equal(await store.pruneEvents(cutoff, 100), 0, 'kept while its delivery is pending');
        assert.equal(await store.deadLetterRemovedDestinations(['hook'], Date.now() + 1, Date.now() + 1), 1);
        assert.equal(await store.pruneEvents(cutoff, 100), 1);
        assert.equal(await store.getEvent(old), undefined);
      });

      it('prunes expired dedupe keys in bounded batches, keeping live ones', async () => {
        const now = Date.now();
        for (let i = 0; i < 3; i++) await store.insertEvent(newEvent(`old${i}`, { dedupeUntilMs: now - 1000 }));
        const live = await store.insertEvent(newEvent('live', { dedupeUntilMs: now + HOUR }));
        assert.equal(await store.pruneDedupeKeys(now, 2), 2);
        assert.equal(await store.pruneDedupeKeys(now, 2), 1);
        assert.equal(await store.pruneDedupeKeys(now, 2), 0);
        assert.deepEqual(await store.insertEvent(newEvent('live')), { status: 'duplicate', id: live.id });
        assert.equal((await store.insertEvent(newEvent('old0'))).status, 'stored');
        assert.equal(await store.countEvents(), 5, 'pruning keys deletes no event');
      });
    });
    describe('operations (admin API and CLI)', () => {
      /** Claims and fails the delivery for good: a dead letter with one attempt. */
      async function kill(id: string, destination = 'hook'): Promise<void> {
        const [claimed] = await claim('w', Date.now(), 1, 1000, destination);
        assert.equal(claimed?.id, id);
        assert.ok(await store.completeAttempt('w', { ...attempt(id), outcome: 'dead', status: 500, error: 'boom' }, { status: 'dead' }));
      }

      it('filters events by source, provider, type, outcome, subject and receive time, and pages by id', async () => {
        const base = Date.parse('2026-01-01T00:00:00Z');
        const ids: string[] = [];
        for (let i = 0; i < 30; i++) {
          const receivedAt = new Date(base + i * 60_000).toISOString();
          const e = event(i % 2 === 0 ? 'facesign' : 'kyc', {
            type: i % 3 === 0 ? 'a' : 'b',
            outcome: i % 5 === 0 ? 'rejected' : 'approved',
            subject: `s${i % 4}`,
            receivedAt,
            provider: i % 2 === 0 ? 'facesign' : 'legaltalent',
          });
          ids.push(e.id);
          await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        }
        const expect = (pick: (i: number) => boolean) => ids.filter((_, i) => pick(i));
        const list = async (filter: EventFilter) => (await store.listEvents({ limit: 1000, ...filter })).map((e) => e.id);
        assert.deepEqual(
          await list({ source: 'kyc' }),
          expect((i) => i % 2 === 1),
        );
        assert.deepEqual(
          await list({ provider: 'facesign' }),
          expect((i) => i % 2 === 0),
        );
        assert.deepEqual(
          await list({ type: 'a', outcome: 'rejected' }),
          expect((i) => i % 3 === 0 && i % 5 === 0),
        );
        assert.deepEqual(
          await list({ subject: 's1' }),
          expect((i) => i % 4 === 1),
        );
        const since = new Date(base + 10 * 60_000).toISOString();
        const until = new Date(base + 20 * 60_000).toISOString();
        assert.deepEqual(
          await list({ since, until }),
          expect((i) => i >= 10 && i < 20),
        );
        assert.equal(await store.countEvents({ since, until, source: 'facesign' }), 5);
        const pages: string[][] = [];
        let cursor: string | null | undefined;
        do {
          const page = await pageOf((f: EventFilter) => store.listEvents(f), { limit: 7, after: cursor ?? undefined });
          pages.push(page.items.map((e) => e.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(
          pages.map((p) => p.length),
          [7, 7, 7, 7, 2],
        );
        assert.deepEqual(pages.flat(), ids);
      });

      it('lists events newest first with the cursor going back, by category and by the state of their deliveries', async () => {
        const events = [event('a', { category: 'media' }), event('a'), event('a', { category: 'media' }), event('a')];
        for (const e of events) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        const ids = events.map((e) => e.id);
        const newest = [...ids].reverse();
        const pages: string[][] = [];
        let cursor: string | null | undefined;
        do {
          const page = await pageOf((f: EventFilter) => store.listEvents(f), { order: 'desc', limit: 3, after: cursor ?? undefined });
          pages.push(page.items.map((e) => e.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.deepEqual(pages, [newest.slice(0, 3), newest.slice(3)]);
        assert.deepEqual(
          (await store.listEvents({ category: 'media', order: 'desc' })).map((e) => e.id),
          [ids[2], ids[0]],
        );
        const [dead, sent] = [delivery(), delivery()];
        await store.markRouted([
          { eventId: ids[1]!, rulesVersion: 'v1', deliveries: [dead] },
          { eventId: ids[3]!, rulesVersion: 'v1', deliveries: [sent] },
        ]);
        await kill(dead.id);
        assert.deepEqual(
          (await store.listEvents({ delivery: 'dead' })).map((e) => e.id),
          [ids[1]],
        );
        assert.deepEqual(
          (await store.listEvents({ delivery: 'pending' })).map((e) => e.id),
          [ids[3]],
        );
        assert.deepEqual(await store.listEvents({ delivery: 'delivered' }), []);
        assert.equal(await store.countEvents({ delivery: 'dead', category: 'verification' }), 1);
      });

      it('retries a dead delivery: pending and due now, attempts kept; unknown and delivered ones are refused', async () => {
        const dead = delivery();
        const done = delivery();
        await routedEvent(dead, done);
        await kill(dead.id);
        const [claimed] = await claim('w');
        assert.ok(await store.completeAttempt('w', attempt(claimed!.id), { status: 'delivered' }));
        const now = Date.now();
        assert.equal(await store.retryDelivery(dead.id, now), true);
        const retried = await store.getDelivery(dead.id);
        assert.equal(retried?.status, 'pending');
        assert.equal(retried?.nextAttemptAt, now);
        assert.equal(retried?.attempts, 1);
        assert.equal(retried?.retriedAt, now, 'its maximum age and retry schedule count from the retry');
        assert.equal((await store.getDelivery(done.id))?.retriedAt, null);
        assert.equal((await store.listAttempts(dead.id)).length, 1);
        assert.equal(await store.retryDelivery(done.id, now), false);
        assert.equal(await store.retryDelivery(newEventId(), now), false);
        assert.deepEqual(
          (await claim('w2', now)).map((d) => d.id),
          [dead.id],
        );
      });

      it('dead-letters pending deliveries to removed destinations made before the config, leaving live claims; they can be retried', async () => {
        const [gone, claimed, kept, delivered] = [delivery('gone'), delivery('gone'), delivery('hook'), delivery('gone')];
        const eventId = await routedEvent(gone, claimed, kept, delivered);
        const [sent] = await claim('w', Date.now(), 1, 60_000, 'gone');
        assert.ok(await store.completeAttempt('w', attempt(sent!.id), { status: 'delivered' }));
        const [held] = await claim('x', Date.now(), 1, 60_000, 'gone');
        const madeBefore = Date.now() + 1;
        const later = delivery('gone');
        await store.addDeliveries([{ eventId, deliveries: [later] }], madeBefore + 1000);

        const now = madeBefore + 2000;
        assert.equal(await store.deadLetterRemovedDestinations(['hook', 'other'], madeBefore, now), 1);
        const dead = await store.listDeliveries({ status: 'dead' });
        assert.equal(dead.length, 1);
        assert.notEqual(dead[0]!.id, held!.id, 'a delivery under a live claim is left to its claimant');
        assert.equal(dead[0]!.lastError, 'destination-removed: destination "gone" is no longer in the config; retry the delivery once it is back');
        assert.equal(dead[0]!.updatedAt, now);
        assert.equal((await store.getDelivery(later.id))?.status, 'pending', 'made after the config took effect: maybe by a newer config');
        assert.equal((await store.getDelivery(kept.id))?.status, 'pending');
        assert.equal((await store.getDelivery(sent!.id))?.status, 'delivered');
        assert.equal(await store.deadLetterRemovedDestinations(['hook', 'other'], madeBefore, now), 0);
        // The destination is back: retried, it is sent again.
        assert.equal(await store.retryDelivery(dead[0]!.id, now), true);
        assert.deepEqual((await claim('y', now + 1, 10, 1000, 'gone')).map((d) => d.id).sort(), [dead[0]!.id, later.id].sort());
      });

      it('does not retry a delivery whose template failed: it has no message', async () => {
        const failed: NewDelivery = { ...delivery(), message: null, status: 'dead', error: 'render-failed: x' };
        await routedEvent(failed);
        assert.equal(await store.retryDelivery(failed.id, Date.now()), false);
        assert.equal(await store.retryDeadLetters({}, Date.now()), 0);
      });

      it('retries the dead letters matching a filter, and counts them', async () => {
        const a = { ...delivery('hook'), rule: 'r1' };
        const b = { ...delivery('hook'), rule: 'r2' };
        const c = { ...delivery('other'), rule: 'r1' };
        await routedEvent(a, b, c);
        await kill(a.id);
        await kill(b.id);
        await kill(c.id, 'other');
        const now = Date.now();
        assert.equal(await store.retryDeadLetters({ destination: 'hook', rule: 'r1' }, now), 1);
        assert.equal((await store.getDelivery(a.id))?.status, 'pending');
        assert.equal((await store.getDelivery(a.id))?.retriedAt, now);
        assert.equal((await store.getDelivery(b.id))?.retriedAt, null);
        assert.equal(await store.retryDeadLetters({ sinceMs: Date.now() + 60_000 }, Date.now()), 0);
        assert.equal(await store.retryDeadLetters({}, Date.now()), 2);
        assert.deepEqual((await store.listDeliveries({ status: 'dead' })).length, 0);
      });

      it('lists dead letters by destination and rule, paged by id', async () => {
        const made = Array.from({ length: 5 }, (_, i) => ({ ...delivery(), rule: i < 3 ? 'r1' : 'r2' }));
        await routedEvent(...made);
        for (const d of made) await kill(d.id);
        const page = await pageOf((f: DeliveryFilter) => store.listDeliveries(f), { status: 'dead', rule: 'r1', limit: 2 });
        assert.deepEqual(
          page.items.map((d) => d.id),
          made.slice(0, 2).map((d) => d.id),
        );
        const next = await store.listDeliveries({ status: 'dead', rule: 'r1', after: page.nextCursor!, limit: 2 });
        assert.deepEqual(
          next.map((d) => d.id),
          [made[2]!.id],
        );
        assert.equal((await store.listDeliveries({ status: 'dead', destination: 'nowhere' })).length, 0);
      });

      it('adds deliveries to a routed event, keeping the earlier ones', async () => {
        const first = delivery();
        const id = await routedEvent(first);
        const replayed = delivery();
        await store.addDeliveries([{ eventId: id, deliveries: [replayed] }], Date.now());
        assert.deepEqual(
          (await store.listDeliveries({ eventId: id })).map((d) => d.id),
          [first.id, replayed.id],
        );
        assert.equal((await store.getDelivery(replayed.id))?.status, 'pending');
      });

      it('stores a replayed event that changed (its session fetched again) with its new deliveries, and its outcome in the filters', async () => {
        const id = await routedEvent(delivery());
        const other = await routedEvent(delivery());
        const stored = (await store.getEvent(id))!;
        const refreshed: NormalizedEvent = {
          ...stored,
          outcome: 'completed',
          session: { id: 'sess_1', status: 'complete' },
          enrichment: { fetchedAt: new Date().toISOString(), attempts: 2, error: null },
        };
        const replayed = delivery();
        await store.addDeliveries(
          [
            { eventId: id, deliveries: [replayed], event: refreshed },
            { eventId: other, deliveries: [delivery()] },
          ],
          Date.now(),
        );
        assert.deepEqual(await store.getEvent(id), refreshed);
        assert.equal((await store.getEvent(other))?.outcome, null, 'an event without a replacement is left as it was');
        assert.deepEqual(
          (await store.listEvents({ outcome: 'completed' })).map((e) => e.id),
          [id],
        );
        assert.equal((await store.getDelivery(replayed.id))?.status, 'pending');
        // Nothing to send, the session still fetched again: the event is stored all the same.
        const again = { ...refreshed, session: { id: 'sess_1', status: 'incomplete' }, outcome: 'abandoned' as const };
        await store.addDeliveries([{ eventId: id, deliveries: [], event: again }], Date.now());
        assert.deepEqual(await store.getEvent(id), again);
        assert.equal((await store.listDeliveries({ eventId: id })).length, 2);
      });

      it('counts the deliveries that went dead since a moment, by destination, with the latest error', async () => {
        const early = delivery('hook');
        await routedEvent(early);
        await kill(early.id);
        await new Promise((r) => setTimeout(r, 5));
        const since = Date.now();
        const [a, b, c] = [delivery('hook'), delivery('hook'), delivery('other')];
        await routedEvent(a, b, c, delivery('hook')); // the last stays pending
        await kill(a.id);
        await new Promise((r) => setTimeout(r, 5));
        const [claimed] = await claim('w', Date.now(), 1, 1000, 'hook');
        assert.equal(claimed?.id, b.id);
        await store.completeAttempt(
          'w',
          { ...attempt(b.id), outcome: 'dead', status: 410, reason: 'client-error', error: 'the receiver answered HTTP 410' },
          { status: 'dead' },
        );
        await kill(c.id, 'other');
        const failed: NewDelivery = { ...delivery('templated'), message: null, status: 'dead', error: 'render-failed: undefined variable event.x' };
        await routedEvent(failed);

        const recent = await store.recentDeadLetters(since);
        assert.deepEqual(Object.keys(recent).sort(), ['hook', 'other', 'templated']);
        assert.equal(recent.hook!.count, 2, 'the one that died before `since` is not counted');
        assert.equal(recent.hook!.latestError, 'client-error: the receiver answered HTTP 410', "the latest one's error");
        assert.ok(recent.hook!.latestAt >= since && recent.hook!.latestAt <= Date.now());
        assert.deepEqual([recent.other!.count, recent.other!.latestError], [1, 'error: boom']);
        assert.deepEqual(
          [recent.templated!.count, recent.templated!.latestError],
          [1, 'render-failed: undefined variable event.x'],
          'born dead: its template failed',
        );
        assert.deepEqual(await store.recentDeadLetters(Date.now() + 1000), {});
        // A retried dead letter is pending again, so no longer counted.
        await store.retryDelivery(b.id, Date.now());
        assert.equal((await store.recentDeadLetters(since)).hook!.count, 1);
      });

      it('counts the attempts that started since a moment, by destination: delivered, and failed (retry, dead, probe)', async () => {
        const since = 1_700_000_000_000; // the attempts' own times: no clock is read
        const [early, ok, flaky] = [delivery('hook'), delivery('hook'), delivery('hook')];
        const [gone, probed] = [delivery('other'), delivery('other')];
        await routedEvent(early, ok, flaky, gone, probed, delivery('idle'));
        const record = async (destination: string, id: string, n: number, startedAt: number, outcome: Attempt['outcome'], verdict: AttemptVerdict) => {
          const claimed = await claim('w', Date.now() + 1000, 10, 1000, destination);
          assert.ok(claimed.some((d) => d.id === id));
          assert.ok(await store.completeAttempt('w', { ...attempt(id, n), startedAt, outcome }, verdict));
          await store.releaseClaims('w');
        };
        await record('hook', early.id, 1, since - 1, 'delivered', { status: 'delivered' });
        await record('hook', ok.id, 1, since, 'delivered', { status: 'delivered' });
        await record('hook', flaky.id, 1, since + 10, 'retry', { status: 'pending', nextAttemptAt: 0 });
        await record('hook', flaky.id, 2, since + 30, 'delivered', { status: 'delivered' });
        await record('other', gone.id, 1, since + 20, 'dead', { status: 'dead' });
        await record('other', probed.id, 1, since + 25, 'probe', { status: 'pending', nextAttemptAt: 0 });

        assert.deepEqual(await store.recentAttempts(since), { hook: { delivered: 2, failed: 1 }, other: { delivered: 0, failed: 2 } });
        assert.deepEqual(await store.recentAttempts(since + 21), { hook: { delivered: 1, failed: 0 }, other: { delivered: 0, failed: 1 } });
        assert.deepEqual(await store.recentAttempts(since + 31), {}, 'no attempt started since then; a destination never tried is not listed');
      });

      it('takes a snapshot of the queue: pending and the oldest due per destination, and the dead count', async () => {
        const now = Date.now();
        await routedEvent(delivery('hook'), delivery('hook'), delivery('other'), delivery('doomed'));
        const [doomed] = await claim('w', now + 1000, 1, 1000, 'doomed');
        await store.completeAttempt('w', { ...attempt(doomed!.id), outcome: 'dead' }, { status: 'dead' });
        const snapshot = await store.queueSnapshot(now + 1000);
        assert.deepEqual(Object.keys(snapshot.byDestination).sort(), ['hook', 'other']);
        assert.equal(snapshot.byDestination.hook!.pending, 2);
        assert.ok(snapshot.byDestination.hook!.oldestDueAt! <= now + 1000);
        assert.equal(snapshot.dead, 1);
        const early = await store.queueSnapshot(now - 60_000);
        assert.equal(early.byDestination.hook!.oldestDueAt, null, 'nothing is due yet');
      });
    });

    describe('batches joined again by a replay (addDeliveries)', () => {
      const [WAIT, INTERVAL] = [GROUP_WAIT_MS, GROUP_INTERVAL_MS];
      const t0 = Date.parse('2026-03-02T10:00:00Z');
      const claimBatch = async (now: number) => store.claimDueBatches({ limit: 10, claimant: 'b', claimTtlMs: 60_000, now });
      /** Sends the batch's pending events: it is due again only if events are still pending after those. */
      const send = async (now: number, batchId: string, consumed: string[]) =>
        assert.ok(
          await store.completeBatch('b', {
            batchId,
            consumed,
            deliveries: [],
            sentAt: now,
            dueIfPending: now + INTERVAL,
            dueIfEmpty: null,
            windowStart: null,
            windowSent: 0,
            suppressed: 0,
          }),
        );

      it('adds a sent event to its batch again, due as routing would make it, with a delivery in the same write; once while it waits', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [], batched: [groupEntry(t0)] }]);
        const [first] = await claimBatch(t0 + WAIT);
        assert.deepEqual(first?.eventIds, [e.id]);
        await send(t0 + WAIT, first!.id, [e.id]);
        assert.equal(await store.nextBatchDueAt(), undefined, 'nothing pending');

        // Replayed a minute later: the group's last message went out 30 s ago, so the next is due at it plus the interval.
        const replayed = delivery();
        await store.addDeliveries([{ eventId: e.id, deliveries: [replayed], batched: [groupEntry(t0 + 60_000)] }], t0 + 60_000);
        assert.equal((await store.getDelivery(replayed.id))?.status, 'pending', 'the delivery is stored in the same write');
        assert.equal(await store.nextBatchDueAt(), t0 + WAIT + INTERVAL);
        // Replayed again while it waits: still once, and the due time stays.
        await store.addDeliveries([{ eventId: e.id, deliveries: [], batched: [groupEntry(t0 + 120_000)] }], t0 + 120_000);
        assert.equal(await store.nextBatchDueAt(), t0 + WAIT + INTERVAL);
        assert.deepEqual(await claimBatch(t0 + WAIT + INTERVAL - 1), [], 'not before the interval');
        const [second] = await claimBatch(t0 + WAIT + INTERVAL);
        assert.equal(second?.id, first!.id, 'the same batch');
        assert.deepEqual(second?.eventIds, [e.id], 'the event once');
        await send(t0 + WAIT + INTERVAL, second!.id, [e.id]);
        assert.equal(await store.nextBatchDueAt(), undefined, 'counted once: nothing left pending after it went out');
      });

      it('opens a batch that is not there, due after its wait', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
        await store.addDeliveries([{ eventId: e.id, deliveries: [], batched: [groupEntry(t0)] }], t0);
        assert.equal(await store.nextBatchDueAt(), t0 + WAIT);
        const [batch] = await claimBatch(t0 + WAIT);
        assert.equal(batch?.rule, 'grouped');
        assert.deepEqual(batch?.keyValues, { subject: 'sess_1' });
        assert.deepEqual(batch?.eventIds, [e.id]);
      });

      it('writes a replayed event that changed (its session fetched again) in the write that adds it to its batch', async () => {
        const e = event('facesign', { session: { status: 'inProgress' } });
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
        const fresh = { ...e, outcome: 'completed' as const, session: { status: 'complete' } };
        await store.addDeliveries([{ eventId: e.id, deliveries: [delivery()], batched: [groupEntry(t0)], event: fresh }], t0);
        assert.deepEqual(await store.getEvent(e.id), fresh);
        const [batch] = await claimBatch(t0 + WAIT);
        assert.deepEqual(batch?.eventIds, [e.id]);
        assert.equal((await store.listDeliveries({ eventId: e.id })).length, 1);
      });

      it('leaves the batches of an event not routed yet to its routing, which adds it once', async () => {
        const e = event();
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.addDeliveries([{ eventId: e.id, deliveries: [], batched: [groupEntry(t0)] }], t0);
        assert.equal(await store.nextBatchDueAt(), undefined, 'not added by the replay');
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [], batched: [groupEntry(t0)] }]);
        const [batch] = await claimBatch(t0 + WAIT);
        assert.deepEqual(batch?.eventIds, [e.id]);
        await send(t0 + WAIT, batch!.id, [e.id]);
        assert.equal(await store.nextBatchDueAt(), undefined, 'counted once');
      });
    });

    describe('audit log', () => {
      const entry = (target: string, overrides: Partial<AuditEntry> = {}): AuditEntry => ({
        id: newEventId(),
        at: Date.now(),
        actor: 'alice (127.0.0.1)',
        action: 'event.pii.read',
        target,
        detail: { via: 'api' },
        ...overrides,
      });

      it('keeps entries as written, lists them oldest first, by actor, action or target, a page at a time', async () => {
        const first = entry('evt-1');
        const second = entry('evt-2', { actor: 'bob', detail: null });
        const third = entry('evt-1', { action: 'destination.pause', detail: { nested: { n: 1 } } });
        for (const e of [first, second, third]) await store.recordAudit(e);

        assert.deepEqual(await store.listAudit(), [first, second, third]);
        assert.deepEqual(await store.listAudit({ target: 'evt-1' }), [first, third]);
        assert.deepEqual(await store.listAudit({ actor: 'bob' }), [second]);
        assert.deepEqual(await store.listAudit({ action: 'event.pii.read', target: 'evt-1' }), [first]);
        const page = await pageOf((f) => store.listAudit(f), { limit: 2 });
        assert.deepEqual(page.items, [first, second]);
        assert.deepEqual(await store.listAudit({ after: page.nextCursor! }), [third]);
        const newest = await pageOf((f: AuditFilter) => store.listAudit(f), { limit: 2, order: 'desc' });
        assert.deepEqual(newest.items, [third, second]);
        assert.deepEqual(await store.listAudit({ after: newest.nextCursor!, order: 'desc' }), [first]);
      });

      it('keeps entries when the events they name are pruned', async () => {
        const e = event('facesign', { receivedAt: new Date(Date.now() - 40 * 24 * HOUR).toISOString() });
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
        await store.recordAudit(entry(e.id));
        assert.equal(await store.pruneEvents(Date.now() - 30 * 24 * HOUR, 10), 1);
        assert.equal((await store.listAudit({ target: e.id })).length, 1);
      });
    });

    describe('threads', () => {
      const request = (deliveryId: string, key = 'k1', destination = 'team') => ({ destination, key, deliveryId, now: Date.now() });

      it('gives a thread to the first delivery that asks; later ones find its owner, then its parent', async () => {
        const [first, second] = [delivery('team'), delivery('team')];
        await routedEvent(first, second);
        assert.deepEqual(await store.claimThread(request(first.id)), { owner: first.id, parent: null, parentChannel: null });
        assert.deepEqual(await store.claimThread(request(second.id)), { owner: first.id, parent: null, parentChannel: null });
        assert.equal(
          await store.setThreadParent({ destination: 'team', key: 'k1', owner: second.id, parent: 'x', parentChannel: null, now: Date.now() }),
          false,
        );
        assert.equal(
          await store.setThreadParent({ destination: 'team', key: 'k1', owner: first.id, parent: '1795.01', parentChannel: 'C1', now: Date.now() }),
          true,
        );
        assert.deepEqual(await store.claimThread(request(second.id)), { owner: first.id, parent: '1795.01', parentChannel: 'C1' });
        // Keyed by destination and key.
        assert.equal((await store.claimThread(request(second.id, 'k2'))).owner, second.id);
        assert.equal((await store.claimThread(request(second.id, 'k1', 'other'))).owner, second.id);
      });

      it('gives one owner to concurrent first claims of one thread', async () => {
        const deliveries = Array.from({ length: 8 }, () => delivery('team'));
        await routedEvent(...deliveries);
        const claims = await Promise.all(deliveries.map((d) => store.claimThread(request(d.id))));
        assert.equal(new Set(claims.map((c) => c.owner)).size, 1);
      });

      it('prunes threads not used since a moment, in bounded batches', async () => {
        const d = delivery('team');
        await routedEvent(d);
        const now = Date.now();
        for (const key of ['old1', 'old2', 'old3']) await store.claimThread({ destination: 'team', key, deliveryId: d.id, now: now - 40 * 24 * HOUR });
        await store.claimThread({ destination: 'team', key: 'live', deliveryId: d.id, now });
        // Writing to a thread keeps it.
        await store.claimThread({ destination: 'team', key: 'old3', deliveryId: d.id, now });
        assert.equal(await store.pruneThreads(now - 30 * 24 * HOUR, 1), 1);
        assert.equal(await store.pruneThreads(now - 30 * 24 * HOUR, 10), 1);
        assert.equal(await store.pruneThreads(now - 30 * 24 * HOUR, 10), 0);
        const other = delivery('team').id;
        assert.equal((await store.claimThread(request(other, 'old1'))).owner, other, 'a pruned thread starts afresh');
        assert.equal((await store.claimThread(request(other, 'live'))).owner, d.id);
      });

      it("hands a thread over when its owner's delivery is dead before it started the thread, never after", async () => {
        const [first, second, third] = [delivery('team'), delivery('team'), delivery('team')];
        await routedEvent(first, second, third);
        await store.claimThread(request(first.id));
        const [claimed] = await claim('a', Date.now(), 1, 1000, 'team');
        assert.equal(claimed!.id, first.id);
        await store.completeAttempt('a', { ...attempt(first.id), outcome: 'dead', reason: 'auth-error' }, { status: 'dead' });
        assert.equal((await store.claimThread(request(second.id))).owner, second.id);
        await store.setThreadParent({ destination: 'team', key: 'k1', owner: second.id, parent: '1795.02', parentChannel: 'C1', now: Date.now() });
        assert.deepEqual(await store.claimThread(request(third.id)), { owner: second.id, parent: '1795.02', parentChannel: 'C1' });
      });
    });
  });
}
