/**
 * Delivery end to end: signed requests in, notifications out to real local
 * peers, with the retry schedule, Retry-After, dead letters and time-outs.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { DestinationConfig } from '../../src/core/config.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import type { StartOptions } from '../../src/app/start-herald.js';
import { loadSample } from '../../src/providers/samples.js';
import type { Delivery } from '../../src/store/store.js';
import { testSources } from '../helpers/config.js';
import { settledDeliveries, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');
const BATCHING = path.join(PACKAGE_ROOT, 'test/fixtures/batching');

function hook(url: string, delivery: Record<string, unknown> = {}): DestinationConfig {
  return { name: 'hook', type: 'webhook', options: { url, secret: WEBHOOK_SECRET, format: 'standard', allowPrivateNetwork: true, delivery } };
}

const deliveriesSettled = (herald: TestHerald, count: number) => settledDeliveries(herald.store, count);

describe('delivery to an outbound webhook', function () {
  this.timeout(30_000);
  let herald: TestHerald | undefined;
  let sink: HttpSink;
  const sources = testSources();

  afterEach(async () => {
    await herald?.stop();
    await sink.close();
  });

  async function start(reply: HttpSink['reply'], delivery: Record<string, unknown>, options: StartOptions = {}): Promise<TestHerald> {
    sink = await startHttpSink(reply);
    herald = await startTestHerald({ rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook(`${sink.url}/crm`, delivery) } }, options);
    const reply1 = await herald.postSigned(sources.legaltalent, loadSample('legaltalent', 'kyc.session.rejected'));
    assert.equal(reply1.status, 200);
    return herald;
  }

  it('signs with Standard Webhooks, verifiable by the official library', async () => {
    await start(() => ({ status: 204 }), {});
    await sink.waitFor(1);
    const [request] = sink.requests;
    const headers = request!.headers as Record<string, string>;
    const verified = new Webhook(WEBHOOK_SECRET).verify(request!.body, headers) as { type: string; data: { subject: string } };
    assert.equal(verified.type, 'kyc.session.rejected');
    assert.equal(verified.data.subject, 'kyc_sess_5c1d9e');
    assert.equal(headers['content-type'], 'application/json');
  });

  // In real time, with short intervals; to the millisecond on a fake clock in test/pipeline/stages/deliver.test.ts.
  it('retries 500s on the schedule and delivers on the fourth attempt, keeping one webhook-id', async () => {
    const script = [500, 500, 500, 200];
    await start((_req, i) => ({ status: script[i] ?? 200 }), { retry: ['100ms', '200ms', '300ms'] });
    await sink.waitFor(4, 10_000);
    const [delivery] = await deliveriesSettled(herald!, 1);
    assert.equal(delivery!.status, 'delivered');
    const attempts = await herald!.store.listAttempts(delivery!.id);
    // When herald started each attempt, by its own clock: not when the sink, perhaps busy, read it.
    const times = attempts.map((a) => a.startedAt);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    [100, 200, 300].forEach((scheduled, i) => {
      assert.ok(gaps[i]! >= scheduled, `attempt ${i + 2} came ${gaps[i]} ms after the previous one, scheduled ${scheduled} ms`);
      assert.ok(gaps[i]! <= scheduled * 1.1 + 250, `attempt ${i + 2} came ${gaps[i]} ms after the previous one, scheduled ${scheduled} ms`);
    });
    assert.equal(new Set(sink.requests.map((r) => r.headers['webhook-id'])).size, 1);
    assert.deepEqual(
      attempts.map((a) => [a.outcome, a.status, a.reason]),
      [
        ['retry', 500, 'server-error'],
        ['retry', 500, 'server-error'],
        ['retry', 500, 'server-error'],
        ['delivered', 200, null],
      ],
    );
  });

  it('waits no less than Retry-After after a 429', async () => {
    // The stages' clock stands still until the test moves it: the retry waits for it, not for real time.
    // A minute ahead, so that a delivery, stamped due at the real time it is made, is due at once.
    let clock = Date.now() + 60_000;
    await start((_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }), { retry: ['100ms'] }, { stageClock: () => clock });
    let waiting: Delivery | undefined;
    await waitUntil(async () => {
      [waiting] = await herald!.store.listDeliveries();
      return waiting?.attempts === 1;
    });
    const [limited] = await herald!.store.listAttempts(waiting!.id);
    assert.deepEqual([limited!.outcome, limited!.status, limited!.reason], ['retry', 429, 'rate-limited']);
    // Due no sooner than Retry-After (2 s), though the schedule says 100 ms; not sent before it is due.
    assert.equal(waiting!.status, 'pending');
    assert.ok(waiting!.nextAttemptAt - limited!.startedAt >= 2000, `due ${waiting!.nextAttemptAt - limited!.startedAt} ms after the 429`);
    assert.equal(sink.requests.length, 1);
    clock = waiting!.nextAttemptAt;
    herald!.deliver.wake();
    const [delivered] = await deliveriesSettled(herald!, 1);
    assert.equal(delivered!.status, 'delivered');
    const [, retried] = await herald!.store.listAttempts(delivered!.id);
    assert.equal(retried!.startedAt, waiting!.nextAttemptAt);
    assert.equal(sink.requests.length, 2);
  });

  it('dead-letters a 400 after one attempt, with the reason', async () => {
    await start(() => ({ status: 400, body: 'bad request: field x' }), { retry: ['100ms'] });
    const [delivery] = await deliveriesSettled(herald!, 1);
    assert.equal(delivery!.status, 'dead');
    assert.equal(delivery!.attempts, 1);
    assert.match(delivery!.lastError ?? '', /client-error/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(sink.requests.length, 1);
    const [attempt] = await herald!.store.listAttempts(delivery!.id);
    assert.equal(attempt!.status, 400);
    assert.match(attempt!.responseExcerpt ?? '', /field x/);
  });

  it('cuts a receiver that never answers at the time-out, and retries', async () => {
    await start((_req, i) => (i === 0 ? { status: 200, hang: true } : { status: 200 }), { timeout: '300ms', retry: ['100ms'] });
    const [delivery] = await deliveriesSettled(herald!, 1);
    assert.equal(delivery!.status, 'delivered');
    const attempts = await herald!.store.listAttempts(delivery!.id);
    assert.deepEqual(
      attempts.map((a) => [a.outcome, a.reason]),
      [
        ['retry', 'timeout'],
        ['delivered', null],
      ],
    );
    assert.ok(attempts[0]!.durationMs >= 290 && attempts[0]!.durationMs < 2000, `first attempt took ${attempts[0]!.durationMs} ms`);
  });

  it('gives a receiver that dedupes on webhook-id each message once across retries', async () => {
    const processed = new Set<string>();
    // Processes a message the first time its webhook-id comes, but that reply is lost (a 503 after processing).
    // Keyed on the webhook-id, and counted over this herald's deliveries only, not over all the sink's requests:
    // its port (from port 0) may have been another test's receiver's, whose sender, in another process, still knocks.
    await start(
      (req) => {
        const id = String(req.headers['webhook-id']);
        const first = !processed.has(id);
        processed.add(id);
        return { status: first ? 503 : 200 };
      },
      { retry: ['100ms'] },
    );
    const ours = new Set((await deliveriesSettled(herald!, 1)).map((d) => d.id));
    assert.equal(sink.requests.filter((r) => ours.has(String(r.headers['webhook-id']))).length, 2, 'the lost reply and the retry');
    assert.equal([...processed].filter((id) => ours.has(id)).length, 1);
  });

  it("sends a group's message as an ordinary delivery: retried, dead-lettered, retried from the dead letters, each attempt logged", async () => {
    // The stages' clock stands still until the test moves it past the group's wait (3 s) and the retry (1 s).
    let clock = Date.now() + 60_000;
    const script = [500, 400];
    sink = await startHttpSink((_req, i) => ({ status: script[i] ?? 200 }));
    herald = await startTestHerald(
      {
        rulesDir: path.join(BATCHING, 'group-by-subject'),
        templatesDir: path.join(BATCHING, 'templates'),
        destinations: { hook: hook(`${sink.url}/crm`, { retry: ['1s'] }) },
      },
      { stageClock: () => clock },
    );
    const sample = loadSample('legaltalent', 'kyc.session.rejected') as Record<string, unknown>;
    for (const id of ['evt_group_1', 'evt_group_2']) assert.equal((await herald.postSigned(sources.legaltalent, { ...sample, id })).status, 200);
    await waitUntil(async () => (await herald!.store.unroutedEvents(10)).length === 0, 10_000, 'both events routed into their group');
    assert.deepEqual(await herald.store.listDeliveries(), [], 'nothing before the wait');
    clock += 3_001;
    herald.batches.wake();
    let waiting: Delivery | undefined;
    await waitUntil(async () => {
      [waiting] = await herald!.store.listDeliveries();
      return waiting?.attempts === 1;
    });
    assert.equal(waiting!.rule, 'per-session');
    clock = waiting!.nextAttemptAt;
    herald.deliver.wake();
    const [dead] = await deliveriesSettled(herald, 1);
    assert.equal(dead!.status, 'dead');
    assert.ok(await herald.store.retryDelivery(dead!.id, clock), 'retried from the dead letters');
    herald.deliver.wake();
    const [delivered] = await deliveriesSettled(herald, 1);
    assert.equal(delivered!.status, 'delivered');
    assert.deepEqual(
      (await herald.store.listAttempts(delivered!.id)).map((a) => [a.outcome, a.status]),
      [
        ['retry', 500],
        ['dead', 400],
        ['delivered', 200],
      ],
    );
    assert.equal(sink.requests.length, 3);
    assert.equal(new Set(sink.requests.map((r) => r.body)).size, 1, 'the same message each time');
    assert.equal((JSON.parse(sink.requests[2]!.body) as { data: { count: number } }).data.count, 2);
  });
});

describe('delivery to Slack', function () {
  this.timeout(30_000);
  let herald: TestHerald;
  let slack: HttpSink;
  const sources = testSources();

  async function start(reply: HttpSink['reply'], options: Record<string, unknown> = {}, startOptions: StartOptions = {}): Promise<void> {
    slack = await startHttpSink(reply);
    herald = await startTestHerald(
      {
        rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-slack-rule'),
        destinations: { ops: { name: 'ops', type: 'slack', options: { url: `${slack.url}/services/T0/B0/secret`, allowPrivateNetwork: true, ...options } } },
      },
      startOptions,
    );
  }
  afterEach(async () => {
    await herald.stop();
    await slack.close();
  });

  async function postSessions(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const reply = await herald.postSigned(sources.facesign, { ...loadSample('facesign', 'session.status'), id: `evt_rate_${i}` });
      assert.equal(reply.status, 200);
    }
  }

  it('sends at most one message per second per webhook URL by default', async () => {
    // The stages' clock moves only when the test moves it, a second at a time: whatever goes out
    // goes out at one of those instants, and herald records which. (Arrival times at the sink
    // are not herald's to keep: a busy machine bunches them.) A minute ahead, so that a delivery,
    // stamped due at the real time it is made, is due at once.
    const startedAt = Date.now() + 60_000;
    let clock = startedAt;
    await start(() => ({ status: 200, body: 'ok' }), {}, { stageClock: () => clock });
    await postSessions(3);
    for (let second = 1; second <= 2; second++) {
      await slack.waitFor(second);
      clock += 1000;
      herald.deliver.wake();
    }
    await slack.waitFor(3);
    const deliveries = await deliveriesSettled(herald, 3);
    const sent: number[] = [];
    for (const delivery of deliveries) sent.push(...(await herald.store.listAttempts(delivery.id)).map((a) => a.startedAt - startedAt));
    // Not two in the first second (one at a time, no burst), and one in each second after it.
    assert.deepEqual(
      sent.sort((a, b) => a - b),
      [0, 1000, 2000],
    );
    assert.equal(slack.requests.length, 3);
  });

  it("dead-letters Slack's permanent errors (channel_is_archived) after one attempt, with Slack's reason", async () => {
    await start(() => ({ status: 410, body: 'channel_is_archived' }), { rate: '100/s' });
    await postSessions(1);
    const [delivery] = await deliveriesSettled(herald, 1);
    assert.equal(delivery!.status, 'dead');
    assert.equal(delivery!.attempts, 1);
    const [attempt] = await herald.store.listAttempts(delivery!.id);
    assert.equal(attempt!.status, 410);
    assert.match(`${attempt!.error} ${attempt!.responseExcerpt}`, /channel_is_archived/);
    assert.doesNotMatch(JSON.stringify(attempt), /secret/);
  });
});

describe('delivery to a private address', function () {
  this.timeout(30_000);

  it('is refused without allowPrivateNetwork, dead-lettered at once with a clear reason, and nothing is sent', async () => {
    const sink = await startHttpSink(() => ({ status: 200 }));
    const herald = await startTestHerald({
      rulesDir: ONE_WEBHOOK_RULE,
      destinations: { hook: { name: 'hook', type: 'webhook', options: { url: `${sink.url}/crm`, secret: WEBHOOK_SECRET, format: 'standard' } } },
    });
    try {
      assert.equal((await herald.postSigned(testSources().legaltalent, loadSample('legaltalent', 'kyc.session.rejected'))).status, 200);
      const [delivery] = await deliveriesSettled(herald, 1);
      assert.equal(delivery!.status, 'dead');
      assert.equal(delivery!.attempts, 1);
      assert.match(delivery!.lastError ?? '', /refused-address/);
      assert.match(delivery!.lastError ?? '', /allowPrivateNetwork: true/);
      assert.equal(sink.requests.length, 0);
    } finally {
      await herald.stop();
      await sink.close();
    }
  });
});
