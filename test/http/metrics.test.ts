import assert from 'node:assert/strict';
import path from 'node:path';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { HeraldMetrics } from '../../src/pipeline/metrics.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

/** Parses Prometheus text format (0.0.4) strictly: every line is a comment, blank, or `name{labels} value`. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    assert.ok(match, `not Prometheus text format: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

describe('GET /metrics', function () {
  this.timeout(30_000);
  let herald: TestHerald;
  let sink: HttpSink;

  before(async () => {
    // First delivery succeeds; the second fails once (500) then succeeds; the third is refused (400, dead).
    const script = [200, 500, 200, 400];
    sink = await startHttpSink((_req, i) => ({ status: script[i] ?? 200 }));
    herald = await startTestHerald({
      rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
      destinations: {
        hook: { name: 'hook', type: 'webhook', options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true, concurrency: 1, delivery: { retry: ['100ms'] } } },
      },
    });
  });
  after(async () => {
    await herald.stop();
    await sink.close();
  });

  it('parses as Prometheus text format, and its counters follow a scripted scenario', async () => {
    const source = testSources().facesign;
    const events = [0, 1, 2].map(() => PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()));
    for (const event of events) {
      assert.equal((await herald.postSigned(source, event)).status, 200);
      await sink.waitFor(sink.requests.length + 1, 5000);
      await new Promise((r) => setTimeout(r, 150));
    }
    await herald.postSigned(source, events[0]!); // a duplicate
    await herald.post('facesign', '{}', { 'content-type': 'application/json' }); // unsigned
    await herald.post('nope', '{}', { 'content-type': 'application/json' }); // unknown source
    await waitUntil(() => sink.requests.length >= 4, 5000);
    await new Promise((r) => setTimeout(r, 300));

    const response = await fetch(`${herald.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const m = parseMetrics(await response.text());
    const value = (key: string) => m.get(key) ?? 0;
    assert.equal(value('herald_webhook_requests_total{source="facesign",status="200"}'), 4);
    assert.equal(value('herald_webhook_requests_total{source="facesign",status="401"}'), 1);
    assert.equal(value('herald_webhook_requests_total{source="unknown",status="404"}'), 1);
    assert.equal(value('herald_events_total{source="facesign",result="stored"}'), 3);
    assert.equal(value('herald_events_total{source="facesign",result="duplicate"}'), 1);
    assert.equal(value('herald_rule_matches_total{rule="everything-to-hook"}'), 3);
    assert.equal(value('herald_delivery_attempts_total{destination="hook",outcome="delivered"}'), 2);
    assert.equal(value('herald_delivery_attempts_total{destination="hook",outcome="retry"}'), 1);
    assert.equal(value('herald_delivery_attempts_total{destination="hook",outcome="dead"}'), 1);
    assert.equal(value('herald_delivery_attempt_seconds_count{destination="hook"}'), 4);
    assert.equal(value('herald_store_write_seconds_count'), 4);
    // No label carries an event or delivery id.
    const text = [...m.keys()].join('\n');
    for (const event of events) assert.ok(!text.includes(String(event.id)));
  });
});

describe('GET /metrics while the store cannot answer', () => {
  it('serves every other metric, and the queue gauges keep their last values', async () => {
    let reachable = true;
    const metrics = new HeraldMetrics(async () => {
      if (!reachable) throw new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
      return { byDestination: { hook: { pending: 3, oldestDueAt: null } }, dead: 2 };
    });
    metrics.requests.inc({ source: 'kyc', status: '503' });
    // The lines of these samples (the process metrics' first scrape may read NaN: not asserted here).
    const samples = async () => (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('herald_') && !line.startsWith('herald_process_'));
    const before = await samples();
    assert.ok(before.includes('herald_queue_pending{destination="hook"} 3'), before.join('\n'));
    reachable = false;
    const during = await samples();
    for (const line of ['herald_webhook_requests_total{source="kyc",status="503"} 1', 'herald_queue_pending{destination="hook"} 3', 'herald_dead_letters 2']) {
      assert.ok(during.includes(line), `${line} in:\n${during.join('\n')}`);
    }
  });
});
