/**
 * /readyz answers 503 when a stage has work and made no progress for its
 * bound, or when the store does not take a write (here a lock held by another
 * connection; a full disk fails the same probe write), and shows anonymous
 * callers the verdict only: the reasons are in the admin API's GET
 * /api/health. The stages' clock is injected: no test waits for the bound.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import type { HealthReport } from '../../src/http/admin-api.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { loadRouting } from '../../src/app/setup.js';
import { testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const TOKEN = 'readiness-admin-token';
const STALL_MS = 60_000;

describe('GET /readyz and GET /api/health', function () {
  this.timeout(20_000);
  let sink: HttpSink;
  let herald: TestHerald;
  let clock: number;

  beforeEach(async () => {
    sink = await startHttpSink(() => ({ status: 200 }));
    clock = Date.now();
    herald = await startTestHerald(
      {
        rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
        destinations: {
          hook: {
            name: 'hook',
            type: 'webhook',
            options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
          },
        },
      },
      // A write waits 100 ms for another connection's lock, not herald's 1 s, before it fails.
      { adminToken: TOKEN, stageClock: () => clock, stallMs: STALL_MS, sqliteBusyTimeoutMs: 100 },
    );
  });
  afterEach(async () => {
    await herald.stop();
    await sink.close();
  });

  const readyz = async () => {
    const response = await fetch(`${herald.url}/readyz`);
    return { status: response.status, body: await response.text() };
  };
  const health = async () => (await (await fetch(`${herald.url}/api/health`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as HealthReport;
  const stage = async (name: string) => (await health()).stages.find((s) => s.name === name)!;
  const post = () => herald.postSigned(testSources().facesign, PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()));

  it('turns 503 when routing has events waiting and routes none for longer than the bound, and ready again once it moves', async () => {
    assert.deepEqual(await readyz(), { status: 200, body: '{"status":"ready"}' });
    // Routing that fails on every event, outside any one rule (a rule's failure routes the event without it): the
    // events wait. Ingest, which routes each event as it stores it, stores it unrouted for the route stage.
    const good = loadRouting(herald.config);
    const broken = {
      ...good,
      routing: {
        ...good.routing,
        rules: Object.create(good.routing.rules, {
          version: {
            get: () => {
              throw new Error('stuck');
            },
          },
        }) as object,
      },
    };
    herald.reload(broken as unknown as typeof good);
    assert.equal((await post()).status, 200);
    await waitUntil(async () => (await stage('route')).hasWork, 5000, 'the route stage to have work');
    clock += STALL_MS;
    assert.equal((await readyz()).status, 200, 'within the bound');
    clock += 1;
    assert.deepEqual(await readyz(), { status: 503, body: '{"status":"unavailable"}' });
    assert.deepEqual(await stage('route'), { name: 'route', hasWork: true, stillForMs: STALL_MS + 1, stalled: true });
    assert.equal((await health()).ready, false);

    herald.reload(good);
    await sink.waitFor(1, 5000);
    await waitUntil(async () => (await readyz()).status === 200, 5000, 'ready again');
    assert.equal((await stage('route')).stalled, false);
  });

  it('turns 503 while the store takes no write, showing anonymous callers no detail, and ready again after', async () => {
    const other = new Database(herald.config.store.slice('sqlite:'.length));
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      assert.deepEqual(await readyz(), { status: 503, body: '{"status":"unavailable"}' });
      const report = await health();
      assert.equal(report.ready, false);
      assert.ok(!report.store.writable && /locked/.test(report.store.error), JSON.stringify(report.store));
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    assert.deepEqual(await readyz(), { status: 200, body: '{"status":"ready"}' });
    assert.deepEqual((await health()).store, { writable: true });
  });
});
