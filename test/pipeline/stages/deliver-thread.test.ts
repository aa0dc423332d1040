/**
 * The deliver stage on a thread of its own (`delivery.thread: true`, with a
 * SQLite file; on by default): events are received and routed on the main thread and
 * delivered from the other, each exactly once; the thread's log lines,
 * metrics and breaker states reach the main thread; stopping waits for the
 * attempts in flight and records them. (Killing the process under load:
 * test/e2e/crash.test.ts; SIGTERM under load: test/e2e/shutdown.test.ts;
 * both run `herald serve` with the default, on.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../../src/core/log.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { DataKeyring, generateDataKey } from '../../../src/core/sealing.js';
import type { DestinationConfig } from '../../../src/core/config.js';
import { DeliverStage } from '../../../src/pipeline/stages/deliver.js';
import { DeliverThread } from '../../../src/pipeline/stages/deliver-thread.js';
import { loadSample } from '../../../src/providers/samples.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { testSources } from '../../helpers/config.js';
import { settledDeliveries, startTestHerald, type TestHerald } from '../../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../../helpers/sinks.js';

const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');
const EVENTS = 200;

function hook(url: string, options: Record<string, unknown> = {}): DestinationConfig {
  return {
    name: 'hook',
    type: 'webhook',
    options: { url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true, concurrency: 16, ...options },
  };
}

/** The test config (test/helpers/config.ts) delivers on the main thread: these tests turn the thread on, as herald's default is. */
const ON_A_THREAD = { timeoutMs: 10_000, retryMs: [5_000], maxAgeMs: 86_400_000, thread: true };

describe('delivering on a thread of its own (delivery.thread)', function () {
  this.timeout(60_000);
  let herald: TestHerald | undefined;
  let sink: HttpSink;
  const source = testSources().facesign;
  const postEvents = async (count: number, tag: string) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < count) {
          const i = next++;
          const reply = await herald!.postSigned(source, { ...loadSample('facesign', 'session.status'), id: `evt_${tag}_${i}`, createdAt: Date.now() });
          assert.equal(reply.status, 200);
        }
      }),
    );
  };

  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await sink?.close();
  });

  it('delivers every event exactly once from the other thread, whose log lines and metrics reach the main one', async () => {
    sink = await startHttpSink(() => ({ status: 204 }));
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json' }, { write: (line: string) => void lines.push(line) });
    herald = await startTestHerald({ rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook(`${sink.url}/hook`) }, delivery: ON_A_THREAD }, {}, log);
    assert.ok(herald.deliver instanceof DeliverThread, 'the deliver stage runs on a thread of its own');

    await postEvents(EVENTS, 'once');
    const delivered = await settledDeliveries(herald.store, EVENTS, () => true, 30_000);
    assert.ok(delivered.every((d) => d.status === 'delivered' && d.attempts === 1));
    const ids = sink.requests.map((r) => String(r.headers['webhook-id']));
    assert.equal(ids.length, EVENTS, 'no delivery was sent twice');
    assert.deepEqual(new Set(ids), new Set(delivered.map((d) => d.id)));
    for (const d of delivered.slice(0, 5)) assert.equal((await herald.store.listAttempts(d.id)).length, 1);

    const metrics = await (await fetch(`${herald.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`^herald_delivery_attempts_total\\{destination="hook",outcome="delivered"\\} ${EVENTS}$`, 'm'));
    assert.match(metrics, /^herald_webhook_requests_total\{source="facesign",status="200"\} 200$/m, "the main thread's metrics too");
    assert.match(metrics, /^herald_process_cpu_seconds_total /m);
    assert.equal((metrics.match(/^# HELP herald_process_cpu_seconds_total /gm) ?? []).length, 1, 'the process metrics once');

    await waitUntil(() => lines.filter((l) => l.includes('"msg":"delivery attempt"')).length === EVENTS, 5000, "the thread's log lines");
    const attemptLine = JSON.parse(lines.find((l) => l.includes('"msg":"delivery attempt"'))!) as Record<string, unknown>;
    assert.equal(attemptLine.service, 'herald');
    assert.equal(attemptLine.outcome, 'delivered');
  });

  it('stops once the attempts in flight are finished and recorded; the rest stays queued', async () => {
    // Slow answers: attempts are in flight when herald stops.
    sink = await startHttpSink(() => ({ status: 200, delayMs: 400 }));
    herald = await startTestHerald({ rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook(`${sink.url}/hook`, { concurrency: 2 }) }, delivery: ON_A_THREAD });
    const dbFile = herald.config.store.slice('sqlite:'.length);
    await postEvents(10, 'stop');
    await waitUntil(() => sink.requests.length >= 1, 10_000, 'an attempt in flight');
    const stopping = herald;
    herald = undefined;
    await stopping.close();
    const store = new SqliteStore(dbFile, { create: false });
    try {
      const deliveries = await store.listDeliveries({ limit: 100 });
      assert.equal(deliveries.length, 10);
      const delivered = deliveries.filter((d) => d.status === 'delivered');
      // Every request the sink received was answered before the stop ended, and recorded.
      assert.equal(delivered.length, sink.requests.length);
      assert.ok(deliveries.every((d) => (d.status === 'delivered' && d.attempts === 1) || (d.status === 'pending' && d.attempts === 0)));
    } finally {
      await store.close();
      rmSync(path.dirname(dbFile), { recursive: true, force: true });
    }
  });

  it('with a data key, opens the sealed messages it sends and seals the answers it records', async () => {
    const marker = 'Thread-Sealed-Marker-7Jw2';
    sink = await startHttpSink((request) => ({ status: 200, body: request.body.includes(marker) ? `got ${marker}` : 'got nothing' }));
    herald = await startTestHerald(
      { rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook(`${sink.url}/hook`) }, delivery: ON_A_THREAD },
      { dataKeys: new DataKeyring(Buffer.from(generateDataKey(), 'base64')) },
    );
    assert.ok(herald.deliver instanceof DeliverThread, 'sealing keeps the deliver stage on its thread');
    const dbFile = herald.config.store.slice('sqlite:'.length);
    for (let i = 0; i < 5; i++) {
      const reply = await herald.postSigned(source, {
        ...loadSample('facesign', 'session.status'),
        id: `evt_sealed_${i}`,
        note: marker,
        createdAt: Date.now(),
      });
      assert.equal(reply.status, 200);
    }
    const delivered = await settledDeliveries(herald.store, 5);
    assert.ok(delivered.every((d) => d.status === 'delivered'));
    assert.equal(sink.requests.length, 5);
    assert.ok(
      sink.requests.every((r) => r.body.includes(marker)),
      'each message went out opened',
    );
    const attempts = await herald.store.listAttempts(delivered[0]!.id);
    assert.equal(attempts[0]!.responseExcerpt, `got ${marker}`, 'the main thread opens what the deliver thread sealed');
    const bytes = readdirSync(path.dirname(dbFile))
      .map((f) => readFileSync(path.join(path.dirname(dbFile), f)).toString('latin1'))
      .join('\n');
    assert.ok(bytes.includes('evt_sealed_0'), 'the files are the store (the provider event id is kept as it is)');
    assert.ok(!bytes.includes(marker), 'neither the messages nor the answers are stored as they are');
  });

  it('with delivery.thread off, delivers on the main thread', async () => {
    sink = await startHttpSink(() => ({ status: 204 }));
    herald = await startTestHerald({
      rulesDir: ONE_WEBHOOK_RULE,
      destinations: { hook: hook(`${sink.url}/hook`) },
      delivery: { timeoutMs: 10_000, retryMs: [5_000], maxAgeMs: 86_400_000, thread: false },
    });
    assert.ok(herald.deliver instanceof DeliverStage);
    await postEvents(20, 'main');
    await settledDeliveries(herald.store, 20);
    assert.equal(sink.requests.length, 20);
  });
});
