/**
 * The deliver stage on a fake clock (@sinonjs/fake-timers), against a real
 * SQLite store and a scripted channel: the retry schedule, Retry-After, the
 * rate limit and the circuit breaker, to the millisecond and over minutes of
 * simulated time, in about a second of real time. setImmediate stays real:
 * the store's group commit and the loop's "run again" take no fake time. The same paths run in
 * real time, with short intervals, in test/e2e/delivery.test.ts and
 * test/e2e/breaker.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import FakeTimers from '@sinonjs/fake-timers';
import type { Channel, SendResult } from '../../../src/channels/channel.js';
import type { DestinationConfig } from '../../../src/core/config.js';
import { DeliveryError } from '../../../src/core/errors.js';
import { silentLogger } from '../../../src/core/log.js';
import type { BreakerOpening } from '../../../src/pipeline/alerts/alert-event.js';
import { DeliverStage } from '../../../src/pipeline/stages/deliver.js';
import { deliveryPolicy } from '../../../src/pipeline/mechanisms/delivery-policy.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { delivery, event } from '../../store/contract.js';
import { testConfig } from '../../helpers/config.js';
import { tempDir } from '../../helpers/herald.js';

const START = Date.parse('2026-01-01T00:00:00Z');

/** A channel that answers as `answer` says for each send, and records when each came. */
class ScriptedChannel implements Channel {
  readonly type = 'webhook' as const;
  readonly sends: Array<{ at: number; deliveryId: string; attempt: number }> = [];
  constructor(public answer: (index: number) => DeliveryError | 'ok') {}
  async send(_message: unknown, ctx: { deliveryId: string; attempt: number }): Promise<SendResult> {
    const index = this.sends.push({ at: Date.now() - START, deliveryId: ctx.deliveryId, attempt: ctx.attempt }) - 1;
    const answer = this.answer(index);
    if (answer !== 'ok') throw answer;
    return { status: 200 };
  }
  async close(): Promise<void> {}
}

/** Lets the real event loop run what the stage started (store writes on setImmediate) without moving the clock. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

const refused = () => DeliveryError.retryable('network', 'connection refused');

describe('the deliver stage (fake clock)', () => {
  let clock: FakeTimers.Clock;
  let dir: string;
  let store: SqliteStore;
  let stage: DeliverStage | undefined;

  beforeEach(async () => {
    clock = FakeTimers.install({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    dir = tempDir();
    store = new SqliteStore(path.join(dir, 'herald.db'));
    await store.migrate();
  });
  afterEach(async () => {
    const stopping = stage?.stop();
    await clock.runToLastAsync();
    await stopping;
    stage = undefined;
    clock.uninstall();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Moves the fake clock `ms` ahead one timer at a time, letting the stage's store work finish
   * before each (clock.tickAsync would jump past timers that the stage has yet to set).
   */
  async function advance(ms: number): Promise<void> {
    let reached = false;
    clock.setTimeout(() => (reached = true), ms);
    while (!reached) {
      await settle();
      await clock.nextAsync();
    }
    await settle();
    await clock.tickAsync(0); // the timers due at the same moment, set after this one
    await settle();
  }

  /** Queues `count` pending deliveries to `hook`, due now. */
  async function queue(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const e = event();
      const d = delivery('hook');
      ids.push(d.id);
      await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await store.markRouted([{ eventId: e.id, rulesVersion: 'v', deliveries: [d] }]);
    }
    return ids;
  }

  function start(channel: Channel, options: Record<string, unknown>, onBreakerOpened?: (d: string, o: BreakerOpening) => void): DeliverStage {
    const destination: DestinationConfig = {
      name: 'hook',
      type: 'webhook',
      options: { url: 'http://127.0.0.1:9/hook', secret: 'whsec_x', ...options },
    };
    const policies = { hook: deliveryPolicy(destination, testConfig('sqlite::memory:').delivery) };
    stage = new DeliverStage({
      store,
      destinations: () => ({ channels: { hook: channel }, policies }),
      log: silentLogger(),
      claimant: 'test',
      random: () => 0,
      onBreakerOpened,
    });
    stage.start();
    return stage;
  }

  async function attemptsOf(ids: string[]): Promise<number> {
    let total = 0;
    for (const id of ids) total += (await store.listAttempts(id)).length;
    return total;
  }

  it('retries on the schedule to the millisecond (no jitter with random() = 0), keeping the delivery', async () => {
    const [id] = await queue(1);
    const channel = new ScriptedChannel((i) => (i < 3 ? DeliveryError.retryable('server-error', 'HTTP 500', { status: 500 }) : 'ok'));
    start(channel, { delivery: { retry: ['300ms', '600ms', '900ms'] } });
    await advance(1800);
    assert.deepEqual(
      channel.sends.map((s) => [s.at, s.attempt]),
      [
        [0, 1],
        [300, 2],
        [900, 3],
        [1800, 4],
      ],
    );
    assert.equal((await store.getDelivery(id!))!.status, 'delivered');
    assert.deepEqual(
      (await store.listAttempts(id!)).map((a) => a.outcome),
      ['retry', 'retry', 'retry', 'delivered'],
    );
  });

  it('waits Retry-After when it is longer than the schedule, and dead-letters when the schedule is used up', async () => {
    const [id] = await queue(1);
    const channel = new ScriptedChannel(() => DeliveryError.retryable('rate-limited', 'HTTP 429', { status: 429, retryAfterMs: 2000 }));
    start(channel, { delivery: { retry: ['100ms'] } });
    await advance(5000);
    assert.deepEqual(
      channel.sends.map((s) => s.at),
      [0, 2000],
    );
    const stored = (await store.getDelivery(id!))!;
    assert.equal(stored.status, 'dead');
    assert.match(stored.lastError ?? '', /gave up after 2 attempts/);
  });

  it('dead-letters a permanent failure after one attempt', async () => {
    const [id] = await queue(1);
    const channel = new ScriptedChannel(() => DeliveryError.permanent('client-error', 'HTTP 400', { status: 400 }));
    start(channel, { delivery: { retry: ['100ms'] } });
    await advance(1000);
    assert.equal(channel.sends.length, 1);
    assert.equal((await store.getDelivery(id!))!.status, 'dead');
  });

  it('keeps to the rate: "1/s" sends one a second', async () => {
    await queue(3);
    const channel = new ScriptedChannel(() => 'ok');
    start(channel, { rate: '1/s' });
    await advance(2500);
    assert.deepEqual(
      channel.sends.map((s) => s.at),
      [0, 1000, 2000],
    );
  });

  it('with a receiver down for 60 s: opens the breaker, probes on its schedule, and delivers everything once it is back', async () => {
    const ids = await queue(30);
    let up = false;
    const channel = new ScriptedChannel(() => (up ? 'ok' : refused()));
    const openings: BreakerOpening[] = [];
    start(
      channel,
      {
        concurrency: 4,
        delivery: { retry: Array(10).fill('200ms'), maxAge: '1h' },
        breaker: { failures: 5, probe: ['2s', '4s', '8s', '10s'] },
      },
      (_destination, opening) => openings.push(opening),
    );

    await advance(60_000);
    assert.equal(stage!.breakerStates().hook, 'open');
    assert.equal(openings.length, 1, 'one closed-to-open transition');
    assert.equal(openings[0]!.reason, 'network');
    // Without the breaker: 30 deliveries x 11 attempts 200 ms apart, all within the first seconds.
    // With it: the first failures (at most failures + concurrency), then one probe at 2, 6, 14, 24,
    // 34, 44 and 54 s.
    const whileDown = channel.sends.length;
    assert.ok(whileDown >= 5 + 7 && whileDown <= 5 + 4 + 7, `${whileDown} attempts while the receiver was down`);
    assert.equal(await attemptsOf(ids), whileDown, 'every attempt is recorded');
    const probes = channel.sends.slice(-7).map((s) => s.at);
    const firstProbe = probes[0]!;
    assert.deepEqual(
      probes.map((at) => at - firstProbe),
      [0, 4000, 12000, 22000, 32000, 42000, 52000],
    );
    for (const id of ids) assert.equal((await store.getDelivery(id))!.status, 'pending', 'nothing dead-lettered');

    up = true;
    await advance(10_000); // the next probe succeeds and the breaker closes
    assert.equal(stage!.breakerStates().hook, 'closed');
    await advance(1_000);
    for (const id of ids) assert.equal((await store.getDelivery(id))!.status, 'delivered');
    assert.equal(new Set(channel.sends.filter((_, i) => i >= whileDown).map((s) => s.deliveryId)).size, 30);
  });
});
