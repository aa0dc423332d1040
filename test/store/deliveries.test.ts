import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import type { NormalizedEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Attempt, NewDelivery } from '../../src/store/store.js';
import { tempDir } from '../helpers/herald.js';

function event(): NormalizedEvent {
  const now = new Date().toISOString();
  return {
    specversion: '1.0', id: newEventId(), source: 'kyc', provider: 'legaltalent', type: 'kyc.session.rejected',
    category: 'verification', outcome: 'rejected', subject: 's1', time: now, receivedAt: now,
    providerEventId: `evt_${Math.random()}`, datacontenttype: 'application/json', data: {},
  };
}

function delivery(destination = 'hook'): NewDelivery {
  return {
    id: newEventId(), rule: 'r', destination, template: 't', status: 'pending',
    message: { channel: 'webhook', body: { hello: 'world' }, contentType: 'application/json' },
  };
}

function attempt(deliveryId: string, n = 1): Attempt {
  return { deliveryId, attempt: n, startedAt: Date.now(), durationMs: 5, outcome: 'delivered', status: 200, reason: null, error: null, responseExcerpt: 'ok' };
}

describe('SqliteStore: routing and deliveries', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = tempDir();
    store = new SqliteStore(path.join(dir, 'herald.db'));
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function routedEvent(...deliveries: NewDelivery[]): Promise<string> {
    const e = event();
    await store.insertEvent({ event: e, dedupeKey: e.providerEventId!, dedupeUntilMs: Date.now() + 60_000 });
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries }]);
    return e.id;
  }

  it('marks an event routed once: routing it again creates no second set of deliveries', async () => {
    const e = event();
    await store.insertEvent({ event: e, dedupeKey: 'k', dedupeUntilMs: Date.now() + 60_000 });
    assert.deepEqual((await store.unroutedEvents(10)).map((x) => x.id), [e.id]);
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [delivery()] }]);
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v2', deliveries: [delivery(), delivery()] }]);
    assert.deepEqual(await store.unroutedEvents(10), []);
    assert.equal((await store.listDeliveries({ eventId: e.id })).length, 1);
  });

  it('lets one claimant claim a due delivery, and nobody else until the claim expires', async () => {
    await routedEvent(delivery());
    const now = Date.now();
    const first = await store.claimDueDeliveries({ destination: 'hook', limit: 10, claimant: 'a', claimTtlMs: 1000, now });
    const second = await store.claimDueDeliveries({ destination: 'hook', limit: 10, claimant: 'b', claimTtlMs: 1000, now });
    assert.equal(first.length, 1);
    assert.equal(second.length, 0);
    const takeover = await store.claimDueDeliveries({ destination: 'hook', limit: 10, claimant: 'b', claimTtlMs: 1000, now: now + 1001 });
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
    const claimed = await store.claimDueDeliveries({ destination: 'hook', limit: 2, claimant: 'a', claimTtlMs: 1000, now: Date.now() });
    assert.equal(claimed.length, 2);
    assert.ok(claimed.every((d) => d.destination === 'hook'));
  });

  it('schedules a retry: the delivery is not due before nextAttemptAt, and nextDueAt says when', async () => {
    await routedEvent(delivery());
    const now = Date.now();
    const [d] = await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'a', claimTtlMs: 60_000, now });
    assert.equal(await store.nextDueAt(['hook']), now + 60_000, 'a claimed delivery falls due when its claim expires');
    await store.completeAttempt('a', { ...attempt(d!.id), outcome: 'retry', status: 500, reason: 'server-error', error: 'HTTP 500' }, { status: 'pending', nextAttemptAt: now + 5000 });
    assert.equal(await store.nextDueAt(['hook']), now + 5000);
    assert.equal(await store.nextDueAt(['other']), undefined);
    assert.deepEqual(await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'a', claimTtlMs: 1000, now: now + 4999 }), []);
    assert.equal((await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'a', claimTtlMs: 1000, now: now + 5000 })).length, 1);
    const stored = await store.getDelivery(d!.id);
    assert.equal(stored!.lastError, 'server-error: HTTP 500');
  });

  it('keeps dead letters with their reason, and never claims them', async () => {
    await routedEvent({ ...delivery(), message: null, status: 'dead', error: 'render-failed: undefined variable' });
    assert.deepEqual(await store.claimDueDeliveries({ destination: 'hook', limit: 10, claimant: 'a', claimTtlMs: 1000, now: Date.now() }), []);
    const [dead] = await store.listDeliveries({ status: 'dead' });
    assert.equal(dead!.lastError, 'render-failed: undefined variable');
  });

  it('releases claims on request, so the deliveries are due again at once', async () => {
    await routedEvent(delivery());
    const now = Date.now();
    await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'a', claimTtlMs: 60_000, now });
    await store.releaseClaims('a');
    assert.equal((await store.claimDueDeliveries({ destination: 'hook', limit: 1, claimant: 'b', claimTtlMs: 1000, now })).length, 1);
  });
});
