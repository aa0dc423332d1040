/**
 * Operational alerts end to end: herald on a random port, real HTTP servers
 * for a failing webhook receiver and for the "ops" receiver that a rule on
 * source herald sends alerts to, with their Standard Webhooks signatures
 * checked by the official library.
 *
 * The acceptance test of issue #6: a destination failing for a minute
 * produces ONE operational alert, not one per failed delivery.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { AlertsConfig, DestinationConfig, WebhookOptions } from '../../src/core/config.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { ALERT_DEFAULTS, testSources } from '../helpers/config.js';
import { breakerTransitions, settledDeliveries, startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const OPS_SECRET = 'whsec_T3BzU2VjcmV0Rm9yQWxlcnRzMTIzNDU2Nzg5MA==';
const FAILING_SECRET = 'whsec_RmFpbGluZ1NlY3JldEtleUFCQ0RFRkdISUpLTE1O';
/** Part of the failing receiver's URL: a token in a path is a secret (a Slack webhook URL is one). */
const PATH_TOKEN = 'PATHtokenQ7w3Zx9';
/** What the failing receiver answers with: kept with the attempt, never quoted by an alert. */
const ANSWER_BODY = 'internal error at db-7.internal: ANSWERbodyK2p8';

const source = testSources().facesign;
const facesignEvent = () => PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now());

interface OpsAlert {
  type: string;
  data: { alert: string; destination: string; summary: string; details: Record<string, unknown>; herald_event_id: string };
}

describe('operational alerts, end to end', function () {
  let herald: TestHerald | undefined;
  let ops: HttpSink;
  let failing: HttpSink;
  let rulesDir: string;
  let lines: string[];

  beforeEach(async () => {
    ops = await startHttpSink(() => ({ status: 204 }));
    rulesDir = tempDir('herald-alert-rules-');
    lines = [];
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await Promise.all([ops.close(), failing?.close()]);
    rmSync(rulesDir, { recursive: true, force: true });
  });

  /** Starts herald with FaceSign events going to `destinations` and herald's alerts to the ops receiver. */
  async function start(destinations: Record<string, Partial<WebhookOptions> & { url: string }>, alerts: Partial<AlertsConfig>): Promise<TestHerald> {
    mkdirSync(rulesDir, { recursive: true });
    writeFileSync(
      path.join(rulesDir, 'rules.yaml'),
      [
        '- name: sessions',
        '  match: { source: facesign }',
        `  notify: [${Object.keys(destinations)
          .map((to) => `{ to: ${to}, template: session-finished }`)
          .join(', ')}]`,
        '- name: alerts-to-ops',
        '  match: { source: herald }',
        '  notify: [{ to: ops, template: ops-alert }]',
        '',
      ].join('\n'),
    );
    const configured: Record<string, DestinationConfig> = {
      ops: { name: 'ops', type: 'webhook', options: { url: `${ops.url}/ops`, secret: OPS_SECRET, format: 'standard', allowPrivateNetwork: true } },
    };
    for (const [name, options] of Object.entries(destinations)) {
      configured[name] = { name, type: 'webhook', options: { secret: FAILING_SECRET, format: 'standard', allowPrivateNetwork: true, ...options } };
    }
    const log = pino(
      { level: 'info' },
      new Writable({
        write: (chunk, _enc, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    herald = await startTestHerald({ rulesDir, destinations: configured, alerts: { ...ALERT_DEFAULTS, ...alerts } }, {}, log);
    return herald;
  }

  /** The alerts the ops receiver got, each checked with the official Standard Webhooks library. */
  function opsAlerts(): OpsAlert[] {
    return ops.requests.map((request) => new Webhook(OPS_SECRET).verify(request.body, request.headers as Record<string, string>) as OpsAlert);
  }

  /**
   * Counts the alert monitor's checks (each one asks the store for its recent dead letters, and
   * nothing else does), so that a test can wait for checks to have run instead of sleeping.
   */
  function countChecks(running: TestHerald): () => number {
    let checks = 0;
    const store = running.store;
    const recentDeadLetters = store.recentDeadLetters.bind(store);
    store.recentDeadLetters = (sinceMs) => {
      checks++;
      return recentDeadLetters(sinceMs);
    };
    return () => checks;
  }

  /**
   * Waits until `count` more checks have finished (one check runs at a time: a check has
   * finished, alerts raised and stored, once the next one starts), then until every alert
   * stored by then has reached the ops receiver. An absence of alerts cannot be polled for.
   */
  async function moreChecks(checks: () => number, count: number): Promise<void> {
    const target = checks() + count + 1;
    await waitUntil(() => checks() >= target, 10_000, `${count} more alert checks`);
    const raised = (await herald!.store.listEvents({ source: 'herald' })).length;
    await settledDeliveries(herald!.store, raised, (d) => d.destination === 'ops');
  }

  /** A counter's value from GET /metrics, for the series with all of `labels`. */
  async function metric(name: string, labels: string[]): Promise<number> {
    const text = await (await fetch(`${herald!.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((label) => l.includes(label)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('sends ONE alert for a destination that keeps failing, however often its breaker opens', async function () {
    this.timeout(60_000);
    // The breaker opens about 20 times a second while the receiver fails (each failed 50 ms probe
    // re-opens it): a few seconds of real time stand for the minute of issue #6.
    const FAIL_MS = 1_000;
    const FLAP_MS = 1_000;
    const startedAt = Date.now();
    // Down for 1 s (every probe fails), then flapping for 1 s: every fourth request gets through,
    // so the breaker closes on a lucky probe and opens again; then up.
    failing = await startHttpSink((_request, i) => {
      const elapsed = Date.now() - startedAt;
      if (elapsed >= FAIL_MS + FLAP_MS) return { status: 200 };
      if (elapsed >= FAIL_MS && i % 4 === 3) return { status: 200 };
      return { status: 500, body: ANSWER_BODY };
    });
    await start(
      {
        flaky: {
          url: `${failing.url}/hooks/${PATH_TOKEN}`,
          concurrency: 2,
          delivery: { retry: Array(40).fill('100ms'), maxAge: '1h' },
          breaker: { failures: 3, probe: ['50ms'] },
        },
      },
      { checkEveryMs: 100 },
    );
    const checks = countChecks(herald!);

    // Events keep arriving while the receiver fails.
    let sent = 0;
    while (Date.now() - startedAt < FAIL_MS + FLAP_MS) {
      assert.equal((await herald!.postSigned(source, facesignEvent())).status, 200);
      sent++;
      await new Promise((r) => setTimeout(r, 125));
    }
    // Up again: every event is delivered, and then some checks run with nothing left to report.
    await settledDeliveries(herald!.store, sent, (d) => d.destination === 'flaky', 30_000);
    await moreChecks(checks, 5);

    const transitions = await breakerTransitions(herald!, 'flaky');
    // Transitions only: a failed probe keeps the breaker open without opening it again.
    assert.ok(transitions.closed >= 2, `the breaker closed ${transitions.closed} times while flapping`);
    assert.equal(transitions.opened, transitions.closed, 'each opening, and no failed probe, counted once; it ends closed');
    const failed = (await herald!.store.listDeliveries({ limit: 1000 })).filter((d) => d.destination === 'flaky');
    let attempts = 0;
    for (const d of failed) attempts += (await herald!.store.listAttempts(d.id)).filter((a) => a.outcome !== 'delivered').length;
    assert.ok(attempts >= 15, `${attempts} failed attempts`);
    if (process.env.HERALD_TEST_VERBOSE === '1') console.log(`      opened ${transitions.opened}, closed ${transitions.closed}, ${attempts} failed attempts`);

    const alerts = opsAlerts();
    assert.equal(alerts.length, 1, `the ops receiver got ${alerts.length} alerts: ${alerts.map((a) => a.data.alert).join(', ')}`);
    const [alert] = alerts;
    assert.equal(alert!.type, 'herald.breaker.opened');
    assert.equal(alert!.data.alert, 'herald.breaker.opened');
    assert.equal(alert!.data.destination, 'flaky');
    assert.deepEqual(
      [alert!.data.details.failures, alert!.data.details.reason, alert!.data.details.status, alert!.data.details.error],
      [3, 'server-error', 500, 'the webhook receiver answered HTTP 500'],
    );
    assert.match(alert!.data.summary, /^Deliveries to flaky are paused after 3 failed attempts in a row/);
    assert.ok(alert!.data.herald_event_id, 'the alert is a stored herald event');
    assert.deepEqual(
      (await herald!.store.listEvents({ source: 'herald' })).map((e) => e.id),
      [alert!.data.herald_event_id],
    );

    // Nothing of the failing destination's URL, secret or answer leaves herald in the alert, or in its log line.
    const leaks = [failing.url, PATH_TOKEN, FAILING_SECRET, FAILING_SECRET.replace(/^whsec_/, ''), ANSWER_BODY, 'ANSWERbodyK2p8'];
    for (const text of [ops.requests[0]!.body, ...lines]) {
      for (const secret of leaks) assert.ok(!text.includes(secret), `"${secret}" in: ${text.slice(0, 300)}`);
    }
    const raised = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'operational alert raised');
    assert.deepEqual(
      raised.map((l) => [l.alert, l.destination, l.eventId]),
      [['herald.breaker.opened', 'flaky', alert!.data.herald_event_id]],
    );

    assert.equal(await metric('herald_alerts_total', ['type="herald.breaker.opened"', 'destination="flaky"']), 1);
    assert.ok(
      (await metric('herald_alerts_suppressed_total', ['type="herald.breaker.opened"', 'destination="flaky"'])) >= 3,
      'every later closed-to-open transition was suppressed',
    );
  });

  it('sends one alert when deliveries go to the dead letters, however many die over several checks', async function () {
    this.timeout(30_000);
    failing = await startHttpSink(() => ({ status: 410, body: ANSWER_BODY }));
    await start({ gone: { url: `${failing.url}/hooks/${PATH_TOKEN}` } }, { checkEveryMs: 100 });
    const checks = countChecks(herald!);
    for (let i = 0; i < 5; i++) {
      assert.equal((await herald!.postSigned(source, facesignEvent())).status, 200);
      await new Promise((r) => setTimeout(r, 150));
    }
    await settledDeliveries(herald!.store, 5, (d) => d.destination === 'gone');
    await ops.waitFor(1, 5000);
    await moreChecks(checks, 5);

    const alerts = opsAlerts();
    assert.deepEqual(
      alerts.map((a) => `${a.data.alert} ${a.data.destination}`),
      ['herald.dead_letters gone'],
    );
    const { details } = alerts[0]!.data;
    assert.ok((details.count as number) >= 1 && (details.count as number) <= 5, `count ${String(details.count)}`);
    assert.match(details.latestError as string, /^client-error: the webhook receiver answered HTTP 410/);
    for (const secret of [PATH_TOKEN, ANSWER_BODY, FAILING_SECRET]) assert.ok(!ops.requests[0]!.body.includes(secret), secret);
  });

  it("sends one alert when a destination's oldest due delivery waits longer than queueAge, and none for a paused one", async function () {
    this.timeout(30_000);
    failing = await startHttpSink(() => ({ status: 200 }));
    // One delivery an hour: the first goes out, the others wait, due.
    await start(
      {
        slow: { url: `${failing.url}/slow`, rate: '1/h' },
        held: { url: `${failing.url}/held` },
      },
      { queueAgeMs: 300, checkEveryMs: 100 },
    );
    const checks = countChecks(herald!);
    herald!.deliver.pause('held');
    for (let i = 0; i < 3; i++) assert.equal((await herald!.postSigned(source, facesignEvent())).status, 200);
    await ops.waitFor(1, 10_000);
    await moreChecks(checks, 5); // the queue stays stale through several more checks

    const alerts = opsAlerts();
    assert.deepEqual(
      alerts.map((a) => `${a.data.alert} ${a.data.destination}`),
      ['herald.queue.stale slow'],
    );
    const { details } = alerts[0]!.data;
    assert.equal(details.pending, 2);
    assert.ok((details.waitedMs as number) >= 300);
    assert.equal(details.thresholdMs, 300);
    assert.equal(failing.requests.filter((r) => r.path === '/held').length, 0, 'the paused destination got nothing');
  });
});
