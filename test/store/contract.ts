/**
 * The Store contract: what every implementation must do, as mocha tests.
 * test/store/sqlite.test.ts and test/store/postgres.test.ts run it, each with
 * a factory for a fresh, migrated, empty store.
 */
import assert from 'node:assert/strict';
import { StoreUnavailableError } from '../../src/core/errors.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import type { Attempt, NewDelivery, NewEvent, Store } from '../../src/store/store.js';

export interface StoreHarness {
  /** A fresh, migrated, empty store; disposed of after each test by `dispose`. */
  open(): Promise<Store>;
  /** Closes what `open` opened (the store may already be closed) and removes its data. */
  dispose(): Promise<void>;
  /** Whether several processes share the store (their claims survive a restart of one). */
  shared: boolean;
}

const HOUR = 3_600_000;

export function event(source = 'facesign', overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  const now = new Date().toISOString();
  return {
    specversion: '1.0', id: newEventId(), source, provider: 'facesign', type: 'session.status',
    category: 'verification', outcome: null, subject: 'sess_1', time: now, receivedAt: now,
    providerEventId: 'evt_1', datacontenttype: 'application/json', data: { id: 'evt_1' },
    ...overrides,
  };
}

export function newEvent(key: string, overrides: Partial<NewEvent> = {}, source = 'facesign'): NewEvent {
  return { event: event(source), dedupeKey: key, dedupeUntilMs: Date.now() + 60_000, ...overrides };
}

export function delivery(destination = 'hook'): NewDelivery {
  return {
    id: newEventId(), rule: 'r', destination, template: 't', status: 'pending',
    message: { channel: 'webhook', body: { hello: 'world' }, contentType: 'application/json' },
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

      it('lists events in the order received, by source, after a cursor, up to a limit', async () => {
        const events = [event('a'), event('b'), event('a'), event('a')];
        for (const [i, e] of events.entries()) await store.insertEvent({ event: e, dedupeKey: `k${i}`, dedupeUntilMs: Date.now() + 60_000 });
        assert.deepEqual((await store.listEvents()).map((e) => e.id), events.map((e) => e.id));
        assert.deepEqual((await store.listEvents({ source: 'a' })).map((e) => e.id), [events[0]!.id, events[2]!.id, events[3]!.id]);
        assert.deepEqual((await store.listEvents({ source: 'a', after: events[0]!.id, limit: 1 })).map((e) => e.id), [events[2]!.id]);
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
        assert.deepEqual((await store.unroutedEvents(10)).map((x) => x.id), [e.id]);
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] }]);
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v2', deliveries: [delivery(), delivery()] }]);
        assert.deepEqual(await store.unroutedEvents(10), []);
        assert.equal((await store.listDeliveries({ eventId: e.id })).length, 1);
      });

      it('routes each event exactly once when the same events are routed concurrently', async () => {
        const events = Array.from({ length: 50 }, () => event());
        await Promise.all(events.map((e) => store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 })));
        assert.deepEqual((await store.unroutedEvents(100)).map((e) => e.id), events.map((e) => e.id).sort());
        const route = () => store.markRouted(events.map((e) => ({ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] })));
        await Promise.all([route(), route(), route()]);
        const deliveries = await store.listDeliveries({ limit: 1000 });
        assert.equal(deliveries.length, 50);
        assert.deepEqual(new Set(deliveries.map((d) => d.eventId)), new Set(events.map((e) => e.id)));
        assert.deepEqual(await store.unroutedEvents(100), []);
      });

      it('hands out unrouted events oldest first, up to the limit, and the rest on the next call', async () => {
        const events = Array.from({ length: 5 }, () => event());
        for (const e of events) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        const first = await store.unroutedEvents(3);
        assert.deepEqual(first.map((e) => e.id), events.slice(0, 3).map((e) => e.id));
        await store.markRouted(first.map((e) => ({ eventId: e.id, rulesVersion: 'v1', deliveries: [] })));
        assert.deepEqual((await store.unroutedEvents(3)).map((e) => e.id), events.slice(3).map((e) => e.id));
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
        assert.deepEqual(takeover.map((d) => d.id), first.map((d) => d.id));
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
        assert.deepEqual((await store.listAttempts(d!.id)).map((a) => a.attempt), [1]);
      });

      it('schedules a retry: the delivery is not due before nextAttemptAt, and nextDueAt says when', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        const [d] = await claim('a', now, 1, 60_000);
        assert.equal(await store.nextDueAt(['hook']), now + 60_000, 'a claimed delivery falls due when its claim expires');
        await store.completeAttempt('a', { ...attempt(d!.id), outcome: 'retry', status: 500, reason: 'server-error', error: 'HTTP 500' }, { status: 'pending', nextAttemptAt: now + 5000 });
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
        const failed: Attempt = { ...attempt(d!.id), outcome: 'dead', status: 400, reason: 'client-error', error: 'HTTP 400', responseExcerpt: 'bad\u0000request' };
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

      it(harness.shared
        ? 'keeps live claims at start-up: other processes hold them'
        : 'releases every claim at start-up: only a previous run of the owner can hold one', async () => {
        await routedEvent(delivery());
        const now = Date.now();
        await claim('previous-run', now, 1, 60_000);
        await store.recoverClaimsAtStartup();
        assert.equal((await claim('new-run', now, 1)).length, harness.shared ? 0 : 1);
      });
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
        assert.deepEqual((await store.listEvents()).map((e) => e.id), [recent]);
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
  });
}
