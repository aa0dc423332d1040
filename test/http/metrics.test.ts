import assert from 'node:assert/strict';
import path from 'node:path';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { HeraldMetrics } from '../../src/pipeline/mechanisms/metrics.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testConfig, testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

/**
 * Parses Prometheus text format (0.0.4) strictly: every line is a comment, blank, or `name{labels} value`.
 * prom-client writes a histogram not yet sampled as `Nan`, which Prometheus reads (Go's ParseFloat ignores case).
 */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|Nan|\+Inf|-Inf)$/.exec(line);
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
        hook: {
          name: 'hook',
          type: 'webhook',
          options: {
            url: `${sink.url}/hook`,
            secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            allowPrivateNetwork: true,
            concurrency: 1,
            delivery: { retry: ['100ms'] },
          },
        },
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

/** The server block tests start from. */
const testServer = () => testConfig('sqlite::memory:').server;

describe('HeraldMetrics queue gauges', () => {
  const snapshot = { byDestination: { hook: { pending: 3, oldestDueAt: 1_000 } }, dead: 2 };

  it('read the store at most once per window, however many scrapes come', async () => {
    let clock = 10_000;
    let reads = 0;
    const metrics = new HeraldMetrics(
      async () => {
        reads += 1;
        return snapshot;
      },
      { maxAgeMs: 5_000, now: () => clock },
    );

    for (let i = 0; i < 20; i++) {
      const m = parseMetrics(await metrics.registry.metrics());
      assert.equal(m.get('herald_queue_pending{destination="hook"}'), 3);
      assert.equal(m.get('herald_dead_letters'), 2);
      clock += 200; // 20 scrapes within 4 s
    }
    assert.equal(reads, 1);
    // The age is measured at each scrape, from the reading's oldest due time.
    assert.equal(parseMetrics(await metrics.registry.metrics()).get('herald_queue_oldest_due_age_seconds{destination="hook"}'), 13);

    clock += 1_000; // past the window
    await metrics.registry.metrics();
    assert.equal(reads, 2);
  });

  it('read again at the next scrape when a reading failed', async () => {
    let reads = 0;
    const metrics = new HeraldMetrics(
      async () => {
        reads += 1;
        if (reads === 1) throw new Error('store down');
        return snapshot;
      },
      { now: () => 0 },
    );
    // The failed reading leaves the queue gauges out of that scrape (and is not kept)...
    assert.equal(parseMetrics(await metrics.registry.metrics()).get('herald_dead_letters'), 0);
    // ...so the next scrape reads again, within the window.
    assert.equal(parseMetrics(await metrics.registry.metrics()).get('herald_dead_letters'), 2);
    assert.equal(reads, 2);
  });

  it('names the process metrics herald_process_*, with no doubled word', async () => {
    const names = [...parseMetrics(await new HeraldMetrics().registry.metrics()).keys()];
    assert.ok(names.includes('herald_process_cpu_user_seconds_total'), names.join('\n'));
    assert.ok(names.some((name) => name.startsWith('herald_nodejs_')));
    assert.deepEqual(
      names.filter((name) => /herald_process_process_|herald_process_nodejs_/.test(name)),
      [],
    );
  });
});

describe('operations surfaces: server.admin and server.metricsToken', function () {
  this.timeout(30_000);
  const adminToken = 'admin-token-for-surfaces';
  const metricsToken = 'metrics-token-for-surfaces';
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const status = async (url: string, headers: Record<string, string> = {}) => (await fetch(url, { headers })).status;

  it('serves /metrics, /api and the console only on the operations listener, and health on both', async () => {
    const users = [{ name: 'alice', passwordHash: await hashPassword('alice-password-1234', { ln: 10, r: 8, p: 1 }), role: 'admin' as const }];
    const herald = await startTestHerald(
      { server: { ...testServer(), admin: { host: '127.0.0.1', port: 0 } }, console: { ...testConfig('sqlite::memory:').console, users } },
      { adminToken },
    );
    try {
      assert.ok(herald.adminPort && herald.adminPort !== herald.port);
      const ops = `http://127.0.0.1:${herald.adminPort}`;
      assert.equal(await status(`${herald.url}/metrics`), 404);
      assert.equal(await status(`${herald.url}/api/events`, bearer(adminToken)), 404);
      assert.equal(await status(`${ops}/metrics`), 200);
      assert.equal(await status(`${ops}/api/events`, bearer(adminToken)), 200);
      assert.equal(await status(`${ops}/api/events`), 401);
      assert.equal(await status(`${herald.url}/console/login`), 404, 'no console on the webhook port');
      assert.equal(await status(`${herald.url}/console/assets/htmx.min.js`), 404);
      assert.equal(await status(`${ops}/console/login`), 200);
      const webhookOnOps = await fetch(`${ops}/webhooks/facesign`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(webhookOnOps.status, 404);
      for (const base of [herald.url, ops]) {
        assert.equal(await status(`${base}/healthz`), 200);
        assert.equal(await status(`${base}/readyz`), 200);
      }
      const source = testSources().facesign;
      const event = PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now());
      assert.equal((await herald.postSigned(source, event)).status, 200);
    } finally {
      await herald.stop();
    }
  });

  it('asks for the metrics token when one is set, and leaves health open', async () => {
    const herald = await startTestHerald({ server: { ...testServer(), metricsToken } });
    try {
      const open = await fetch(`${herald.url}/metrics`);
      assert.equal(open.status, 401);
      assert.equal(open.headers.get('www-authenticate'), 'Bearer realm="herald metrics"');
      assert.doesNotMatch(await open.text(), /herald_/);
      assert.equal(await status(`${herald.url}/metrics`, bearer('wrong')), 401);
      assert.equal(await status(`${herald.url}/metrics`, bearer(metricsToken)), 200);
      assert.equal(await status(`${herald.url}/healthz`), 200, 'health stays open');
    } finally {
      await herald.stop();
    }
  });
});

describe('GET /metrics while the store cannot answer', () => {
  it('serves every other metric, and the queue gauges keep their last values', async () => {
    let reachable = true;
    const metrics = new HeraldMetrics(
      async () => {
        if (!reachable) throw new StoreUnavailableError(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
        return { byDestination: { hook: { pending: 3, oldestDueAt: null } }, dead: 2 };
      },
      { maxAgeMs: 0 },
    ); // every scrape reads the store
    metrics.requests.inc({ source: 'kyc', status: '503' });
    // The lines of these samples (the process metrics' first scrape may read NaN: not asserted here).
    const samples = async () =>
      (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('herald_') && !line.startsWith('herald_process_'));
    const before = await samples();
    assert.ok(before.includes('herald_queue_pending{destination="hook"} 3'), before.join('\n'));
    reachable = false;
    const during = await samples();
    for (const line of ['herald_webhook_requests_total{source="kyc",status="503"} 1', 'herald_queue_pending{destination="hook"} 3', 'herald_dead_letters 2']) {
      assert.ok(during.includes(line), `${line} in:\n${during.join('\n')}`);
    }
  });
});
