/**
 * A manual retry starts a fresh window: a dead letter that died of its
 * maximum age (or of a used-up retry schedule) and is retried gets the whole
 * maximum age and schedule again, counted from the retry, instead of going
 * straight back to the dead letters on its next failure. The deliver stage
 * runs on an injected clock against a real receiver that answers 503.
 */
import assert from 'node:assert/strict';
import { createChannel } from '../../../src/channels/channel.js';
import { silentLogger } from '../../../src/core/log.js';
import { DeliverStage } from '../../../src/pipeline/stages/deliver.js';
import type { DeliveryPolicy } from '../../../src/pipeline/mechanisms/delivery-policy.js';
import { retryOneDelivery } from '../../../src/pipeline/operator/retry-delivery.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { delivery, event } from '../../store/contract.js';
import { startHttpSink, waitUntil, type HttpSink } from '../../helpers/sinks.js';

const HOUR = 3_600_000;

describe('retrying a dead letter by hand', () => {
  let sink: HttpSink;
  let store: SqliteStore;
  let deliver: DeliverStage | undefined;

  beforeEach(async () => {
    sink = await startHttpSink(() => ({ status: 503 }));
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(async () => {
    await deliver?.stop();
    await store.close();
    await sink.close();
  });

  /**
   * Makes a delivery, lets it die two hours after it was made (one attempt,
   * HTTP 503), retries it by hand an hour later, and returns it after the
   * attempt that follows the retry.
   */
  async function dieRetryAndFailAgain(retryMs: number[]) {
    const made = delivery('hook');
    const e = event();
    await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + HOUR });
    await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [made] }]);
    const { createdAt } = (await store.getDelivery(made.id))!;
    const policy: DeliveryPolicy = {
      timeoutMs: 2000,
      retryMs,
      maxAgeMs: HOUR,
      concurrency: 1,
      rateKey: 'destination:hook',
      breaker: { failures: 100, probeMs: [60_000] },
    };
    const hook = createChannel({
      name: 'hook',
      type: 'webhook',
      options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
    });
    let clock = createdAt + 2 * HOUR;
    deliver = new DeliverStage({
      store,
      destinations: () => ({ channels: { hook }, policies: { hook: policy } }),
      log: silentLogger(),
      claimant: 'test',
      now: () => clock,
      random: () => 0,
      pollMs: 20,
    });
    const attempts = async (n: number) => (await store.listAttempts(made.id)).length >= n;
    try {
      deliver.start();
      await waitUntil(() => attempts(1), 5000, 'the first attempt');
      const dead = (await store.getDelivery(made.id))!;
      assert.equal(dead.status, 'dead');
      assert.match(dead.lastError ?? '', /past the maximum age/);

      clock += HOUR;
      assert.equal((await retryOneDelivery(store, made.id, clock)).status, 'retried');
      deliver.wake();
      await waitUntil(() => attempts(2), 5000, 'the attempt after the retry');
      assert.equal(sink.requests.length, 2);
      return { retried: (await store.getDelivery(made.id))!, retriedAt: clock };
    } finally {
      await deliver.stop();
      await hook.close();
    }
  }

  it('starts a fresh maximum age, counted from the retry', async () => {
    const { retried, retriedAt } = await dieRetryAndFailAgain([60_000, 60_000, 60_000]);
    assert.equal(retried.status, 'pending', `it went back to the dead letters: ${retried.lastError}`);
    assert.equal(retried.retriedAt, retriedAt);
  });

  it('starts the retry schedule again at its first delay', async () => {
    const { retried, retriedAt } = await dieRetryAndFailAgain([60_000]);
    assert.equal(retried.status, 'pending', `it went back to the dead letters: ${retried.lastError}`);
    assert.equal(retried.nextAttemptAt, retriedAt + 60_000);
  });
});
