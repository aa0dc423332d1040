/**
 * Grouping, digests and throttles (issue 17, items 1-3): the route stage adds
 * events to batches in a real store (SQLite and PostgreSQL), and the batch
 * stage sends them on a fake clock: no test waits for a real interval.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import type { NormalizedEvent } from '../../../src/core/event.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { BatchStage, EMPTY_DIGEST_TYPE } from '../../../src/pipeline/stages/batch.js';
import { HeraldMetrics } from '../../../src/pipeline/mechanisms/metrics.js';
import { RouteStage, type RoutingSet } from '../../../src/pipeline/stages/route.js';
import { EVENT_PROVIDERS } from '../../../src/providers/registry.js';
import { RuleSet } from '../../../src/routing/rule-set.js';
import { loadRouting } from '../../../src/app/setup.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Delivery, Store } from '../../../src/store/store.js';
import { testConfig } from '../../helpers/config.js';
import { createMigratedTestSchema, type MigratedTestSchema } from '../../helpers/postgres.js';
import { event } from '../../store/contract.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/batching');
const { routing } = loadRouting(
  testConfig('sqlite::memory:', {
    rulesDir: path.join(FIXTURES, 'rules'),
    templatesDir: path.join(FIXTURES, 'templates'),
    destinations: {
      hook: { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
    },
  }),
);

const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface Summary {
  key: string;
  count: number;
  omitted: number;
  first: string;
  last: string;
  newest: string;
  ids: string;
}

const body = (d: Delivery) => (d.message as { body: { data: unknown } }).body.data;

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`grouping, digests and throttles (${kind})`, () => {
    let store: Store;
    // PostgreSQL: one schema migrated once, emptied after each test.
    let schema: MigratedTestSchema | undefined;
    let now: number;
    let route: RouteStage;
    let batches: BatchStage;
    let current: RoutingSet;
    let metrics: HeraldMetrics;

    before(async () => {
      if (kind === 'postgres') schema = await createMigratedTestSchema();
    });
    after(async () => {
      await schema?.drop();
    });
    beforeEach(async () => {
      store = kind === 'sqlite' ? new SqliteStore(':memory:') : new PostgresStore(schema!.url);
      await store.migrate();
      now = Date.parse('2026-03-02T10:00:00Z');
      const clock = () => now;
      current = routing;
      route = new RouteStage({ store, routing: () => current, providers: EVENT_PROVIDERS, log: silentLogger(), now: clock });
      metrics = new HeraldMetrics();
      batches = new BatchStage({ store, routing: () => current, providers: EVENT_PROVIDERS, log: silentLogger(), claimant: 'test', now: clock, metrics });
    });
    afterEach(async () => {
      await store.close();
      await schema?.empty();
    });

    /** Stores and routes events of a type and subject, received at the fake clock's time. */
    async function receive(type: string, subject: string, count = 1, data?: Record<string, unknown>): Promise<NormalizedEvent[]> {
      const made: NormalizedEvent[] = [];
      for (let i = 0; i < count; i++) {
        const e = event('facesign', { type, subject, receivedAt: new Date(now).toISOString(), ...(data && { data }) });
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: now + MINUTE });
        made.push(e);
      }
      while ((await route.routeOnce()) > 0);
      return made;
    }

    /** Runs the batch stage at the fake clock's time; returns the deliveries it made. */
    async function flushAt(at: number): Promise<Delivery[]> {
      now = at;
      const before = new Set((await store.listDeliveries({ limit: 1000 })).map((d) => d.id));
      await batches.flushOnce();
      return (await store.listDeliveries({ limit: 1000 })).filter((d) => !before.has(d.id));
    }

    it('sends ten events of one key within the wait as one message listing ten, and nothing before the wait', async () => {
      const start = now;
      const events: NormalizedEvent[] = [];
      for (let i = 0; i < 10; i++) {
        events.push(...(await receive('group.rejected', 'sess_A')));
        now += SECOND;
      }
      await receive('group.rejected', 'sess_B');
      assert.deepEqual(await flushAt(start + 30 * SECOND - 1), [], 'nothing before the first event has waited 30 s');
      const sent = await flushAt(start + 30 * SECOND);
      assert.equal(sent.length, 1, 'one message for sess_A (sess_B opened later)');
      const summary = body(sent[0]!) as Summary;
      assert.equal(summary.key, 'sess_A');
      assert.equal(summary.count, 10);
      assert.equal(summary.omitted, 0);
      assert.equal(summary.ids, events.map((e) => e.id).join(','));
      assert.equal(summary.newest, events[9]!.id);
      assert.equal(summary.first, new Date(start).toISOString());
      assert.equal(summary.last, new Date(start + 9 * SECOND).toISOString());
      assert.equal(sent[0]!.eventId, events[9]!.id, 'the delivery belongs to the newest event');
      assert.equal(sent[0]!.status, 'pending');
      assert.equal(sent[0]!.rule, 'grouped');
      const b = await flushAt(start + 40 * SECOND);
      assert.equal(b.length, 1);
      assert.equal((body(b[0]!) as Summary).key, 'sess_B');
      assert.deepEqual(await flushAt(start + 10 * MINUTE), [], 'each event is sent once');
    });

    it('sends events that come after a message no sooner than the interval after it', async () => {
      const start = now;
      await receive('group.rejected', 'sess_A');
      const first = await flushAt(start + 30 * SECOND);
      assert.equal(first.length, 1);
      now = start + 31 * SECOND;
      const later = await receive('group.rejected', 'sess_A', 2);
      assert.deepEqual(await flushAt(start + 30 * SECOND + 5 * MINUTE - 1), [], 'not before the interval has passed');
      const second = await flushAt(start + 30 * SECOND + 5 * MINUTE);
      assert.equal(second.length, 1);
      assert.equal((body(second[0]!) as Summary).ids, later.map((e) => e.id).join(','));
      // Long after the last message the group is closed: a new event waits only the group's wait.
      now = start + 30 * MINUTE;
      await receive('group.rejected', 'sess_A');
      assert.deepEqual(await flushAt(now + 30 * SECOND - 1), []);
      assert.equal((await flushAt(now + 1)).length, 1);
    });

    it('lists max events per message and counts the rest as omitted', async () => {
      const start = now;
      const events = await receive('small.rejected', 'sess_A', 5);
      const sent = await flushAt(start + 10 * SECOND);
      assert.equal(sent.length, 1);
      const summary = body(sent[0]!) as Summary;
      assert.equal(summary.count, 5);
      assert.equal(summary.omitted, 2);
      assert.equal(
        summary.ids,
        events
          .slice(0, 3)
          .map((e) => e.id)
          .join(','),
      );
      assert.equal(summary.newest, events[4]!.id);
    });

    it('sends a cron digest at 09:00 Europe/Berlin on both sides of the change to summer time', async () => {
      // Summer time starts on 2026-03-29: 09:00 in Berlin is 08:00 UTC before, 07:00 UTC after.
      now = Date.parse('2026-03-27T12:00:00Z');
      const friday = await receive('digest.match', 'sess_A', 2);
      assert.deepEqual(await flushAt(Date.parse('2026-03-28T07:59:59.999Z')), []);
      const saturday = await flushAt(Date.parse('2026-03-28T08:00:00Z'));
      assert.equal(saturday.length, 1);
      assert.equal((body(saturday[0]!) as Summary).ids, friday.map((e) => e.id).join(','));
      now = Date.parse('2026-03-28T12:00:00Z');
      const sunday = await receive('digest.match', 'sess_B');
      assert.deepEqual(await flushAt(Date.parse('2026-03-29T06:59:59.999Z')), [], 'not at 08:00 UTC: that is 10:00 in Berlin now');
      const sent = await flushAt(Date.parse('2026-03-29T07:00:00Z'));
      assert.equal(sent.length, 1);
      assert.equal((body(sent[0]!) as Summary).ids, sunday[0]!.id);
      assert.deepEqual(await flushAt(Date.parse('2026-03-30T07:00:00Z')), [], 'an empty period sends nothing without sendEmpty');
    });

    it("sends an empty digest with sendEmpty, and one listing the period's events", async () => {
      now = Date.parse('2026-03-02T10:20:00Z');
      await batches.scheduleEmptyDigests();
      assert.deepEqual(await flushAt(Date.parse('2026-03-02T10:59:59Z')), []);
      const empty = await flushAt(Date.parse('2026-03-02T11:00:00Z'));
      assert.equal(empty.length, 1);
      const summary = body(empty[0]!) as Summary;
      assert.equal(summary.count, 0);
      assert.equal(summary.ids, '');
      assert.equal((await store.getEvent(empty[0]!.eventId))?.type, EMPTY_DIGEST_TYPE);
      assert.deepEqual(await store.unroutedEvents(10), [], "the empty digest's event is stored routed: no rule sees it");
      now = Date.parse('2026-03-02T11:30:00Z');
      const events = await receive('hourly.done', 'sess_A', 2);
      const full = await flushAt(Date.parse('2026-03-02T12:00:00Z'));
      assert.equal(full.length, 1);
      assert.equal((body(full[0]!) as Summary).ids, events.map((e) => e.id).join(','));
      assert.equal((await flushAt(Date.parse('2026-03-02T13:00:00Z'))).length, 1, 'and the next period, empty, again');
    });

    it('stops sending empty digests once the rule is removed, after sending what the digest holds', async () => {
      now = Date.parse('2026-03-02T10:20:00Z');
      await batches.scheduleEmptyDigests();
      const events = await receive('hourly.done', 'sess_A');
      current = {
        ...routing,
        rules: new RuleSet(
          routing.rules.rules.filter((r) => r.name !== 'hourly'),
          'without-hourly',
        ),
      };
      const last = await flushAt(Date.parse('2026-03-02T11:00:00Z'));
      assert.equal((body(last[0]!) as Summary).ids, events[0]!.id);
      assert.deepEqual(await flushAt(Date.parse('2026-03-02T12:00:00Z')), []);
      assert.equal(await store.nextBatchDueAt(), undefined, 'nothing is due any more');
    });

    it('sends at most max messages per key and period, counts the rest, and says so in the next message', async () => {
      const start = now;
      const events = await receive('throttle.failed', 'sess_A', 5);
      const other = await receive('throttle.failed', 'sess_B');
      const sent = await flushAt(start);
      const byEvent = new Map(sent.map((d) => [d.eventId, body(d) as { id: string; suppressed: number }]));
      assert.equal(sent.length, 3, 'two for sess_A, one for sess_B');
      assert.deepEqual(byEvent.get(events[0]!.id), { id: events[0]!.id, suppressed: 0 });
      assert.deepEqual(byEvent.get(events[1]!.id), { id: events[1]!.id, suppressed: 0 });
      assert.ok(byEvent.has(other[0]!.id));
      now = start + 9 * MINUTE;
      await receive('throttle.failed', 'sess_A');
      assert.deepEqual(await flushAt(now), [], 'still over the limit: counted, not sent');
      now = start + 10 * MINUTE;
      const next = await receive('throttle.failed', 'sess_A');
      const after = await flushAt(now);
      assert.equal(after.length, 1);
      assert.deepEqual(body(after[0]!), { id: next[0]!.id, suppressed: 4 }, 'three held back in the first burst, one later');
      now += SECOND;
      const again = await receive('throttle.failed', 'sess_A');
      assert.deepEqual(body((await flushAt(now))[0]!), { id: again[0]!.id, suppressed: 0 });
      const text = await metrics.registry.metrics();
      assert.match(text, /^herald_throttled_events_total\{rule="throttled"\} 4$/m);
      assert.match(text, /^herald_batch_messages_total\{rule="throttled"\} 5$/m);
    });

    it("limits a group's messages by a throttle whose paths join the group's key, and counts a held-back group's events", async () => {
      const start = now;
      const a = await receive('gthrottle.failed', 'sess_A', 2, { customer: 'c1' });
      await receive('gthrottle.failed', 'sess_B', 1, { customer: 'c1' });
      await receive('gthrottle.failed', 'sess_A', 1, { customer: 'c2' });
      const first = (await flushAt(start + 10 * SECOND)).map((d) => body(d) as { key: string; count: number; ids: string; suppressed: number });
      assert.deepEqual(
        first.map((m) => [m.key, m.count, m.suppressed]).sort(),
        [
          ['c1, sess_A', 2, 0],
          ['c1, sess_B', 1, 0],
          ['c2, sess_A', 1, 0],
        ],
        'one group per data.customer and subject',
      );
      assert.equal(first.find((m) => m.key === 'c1, sess_A')!.ids, a.map((e) => e.id).join(','));
      now = start + 20 * SECOND;
      await receive('gthrottle.failed', 'sess_A', 3, { customer: 'c1' });
      assert.deepEqual(await flushAt(start + 70 * SECOND), [], "the group's next message is over the throttle: its three events are held back");
      now = start + 11 * MINUTE;
      const next = await receive('gthrottle.failed', 'sess_A', 1, { customer: 'c1' });
      const later = await flushAt(now + 10 * SECOND);
      assert.equal(later.length, 1);
      assert.deepEqual(body(later[0]!), { key: 'c1, sess_A', count: 1, ids: next[0]!.id, suppressed: 3 });
      assert.match(await metrics.registry.metrics(), /^herald_throttled_events_total\{rule="grouped-throttled"\} 3$/m);
    });

    if (kind === 'postgres') {
      it("writes a completion only for the claimant, and gives a dead process's claimed batch back at once", async () => {
        await receive('group.rejected', 'sess_A', 2);
        now += 30 * SECOND;
        const [batch] = await store.claimDueBatches({ limit: 10, claimant: 'gone', claimTtlMs: 60 * MINUTE, now });
        assert.ok(batch);
        assert.deepEqual(await store.claimDueBatches({ limit: 10, claimant: 'test', claimTtlMs: MINUTE, now }), [], 'claimed: nobody else gets it');
        const completion = {
          batchId: batch.id,
          consumed: batch.eventIds,
          deliveries: [],
          sentAt: now,
          dueIfPending: now,
          dueIfEmpty: null,
          windowStart: null,
          windowSent: 0,
          suppressed: 0,
        };
        assert.equal(await store.completeBatch('test', completion), false, 'not the claimant');
        // "gone" holds no liveness lock: a dead process. Its claim is released, and the batch is sent by this one.
        assert.equal(await store.releaseClaimsOfDeadProcesses(), 1);
        const sent = await flushAt(now);
        assert.equal(sent.length, 1);
        assert.equal((body(sent[0]!) as Summary).count, 2);
      });
    }

    it('keeps the events of an open batch through retention pruning', async () => {
      await receive('group.rejected', 'sess_A', 2);
      assert.equal(await store.pruneEvents(now + 86_400_000, 100), 0);
      await flushAt(now + 30 * SECOND);
    });
  });
}
