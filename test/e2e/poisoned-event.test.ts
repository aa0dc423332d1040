/**
 * A poisoned event (issue 13, item 1), end to end through the shipped rules
 * and templates: a correctly signed LegalTalent `kyc.session.processed` whose
 * `data.final_decision` is `{"toString":1,"valueOf":1}` made the shipped rule's
 * `==` throw inside json-logic-js, and the route stage fetched the same batch
 * again for ever: no event of any provider was routed after it. Now the rule
 * counts as not matching that event, the error is recorded with the event
 * (admin API, `herald events show`), counted (herald_routing_errors_total) and
 * raised as a herald.rule.failed alert, and every other event routes.
 */
import assert from 'node:assert/strict';
import { loadSample } from '../../src/providers/samples.js';
import type { RoutingError } from '../../src/store/store.js';
import { runHerald } from '../helpers/cli.js';
import { ALERT_DEFAULTS, SHIPPED_RULES_DIR, testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, startSmtpSink, waitUntil, type HttpSink, type SmtpSink } from '../helpers/sinks.js';

const TOKEN = 'poison-test-token-Qz81';

describe('a poisoned event', function () {
  this.timeout(60_000);
  let herald: TestHerald;
  let slack: HttpSink;
  let crm: HttpSink;
  let smtp: SmtpSink;
  const sources = testSources();

  beforeEach(async () => {
    slack = await startHttpSink(() => ({ status: 200, body: 'ok' }));
    crm = await startHttpSink(() => ({ status: 200 }));
    smtp = await startSmtpSink();
    herald = await startTestHerald(
      {
        rulesDir: SHIPPED_RULES_DIR,
        alerts: { ...ALERT_DEFAULTS, enabled: true },
        destinations: {
          'compliance-slack': {
            name: 'compliance-slack',
            type: 'slack',
            options: { url: `${slack.url}/services/T0/B0/x`, rate: '100/s', allowPrivateNetwork: true },
          },
          'compliance-email': {
            name: 'compliance-email',
            type: 'email',
            options: { smtp: smtp.url, from: 'herald@example.com', to: ['compliance@example.com'] },
          },
          crm: {
            name: 'crm',
            type: 'webhook',
            options: { url: `${crm.url}/crm`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
          },
        },
      },
      { adminToken: TOKEN },
    );
  });
  afterEach(async () => {
    await herald.stop();
    await Promise.all([slack.close(), crm.close(), smtp.close()]);
  });

  const api = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${herald.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(response.status, 200, path);
    return (await response.json()) as T;
  };

  it('LegalTalent final_decision {"toString":1,"valueOf":1}: the rule fails alone, the error is recorded, counted and alerted, and every other event routes', async () => {
    const processed = loadSample('legaltalent', 'kyc.session.processed');
    const poisoned = { ...processed, data: { ...(processed.data as object), final_decision: { toString: 1, valueOf: 1 } } };
    const accepted = await herald.postSigned(sources.legaltalent, poisoned);
    assert.equal(accepted.status, 200, accepted.body);
    const poisonedId = (await herald.store.listEvents())[0]!.id;

    // After it, events of every provider, each sent by its shipped rule to Slack (and more).
    for (const [provider, type] of [
      ['legaltalent', 'kyc.session.rejected'],
      ['owleyes', 'verification.failed'],
      ['faceio', 'DELETION'],
      ['facesign', 'session.status'],
    ] as const) {
      const reply = await herald.postSigned(sources[provider], loadSample(provider, type));
      assert.equal(reply.status, 200, `${provider} ${type}: ${reply.body}`);
    }
    // Four notifications, and herald's own alert about the rule (Slack and email).
    await waitUntil(
      async () => {
        const alerts = await herald.store.listEvents({ source: 'herald' });
        return (
          slack.requests.length >= 5 &&
          alerts.length === 1 &&
          (await herald.store.listDeliveries({ eventId: alerts[0]!.id })).every((d) => d.status === 'delivered')
        );
      },
      20_000,
      'the other events and the alert to be delivered',
    );
    assert.deepEqual(await herald.store.unroutedEvents(100), [], 'every event is routed, the poisoned one included');

    // The poisoned event: routed, no delivery, the failure recorded.
    const detail = await api<{ matchedRules: string[]; routingErrors: RoutingError[]; deliveries: unknown[] }>(`/api/events/${poisonedId}`);
    assert.deepEqual(detail.matchedRules, []);
    assert.deepEqual(detail.deliveries, []);
    assert.equal(detail.routingErrors.length, 1);
    assert.equal(detail.routingErrors[0]!.rule, 'kyc-approved-but-flagged');
    assert.match(detail.routingErrors[0]!.error, /^TypeError: /);

    const shown = await runHerald(['--config', '/nonexistent/herald.config.yaml', 'events', 'show', poisonedId, '--api', herald.url], {
      HERALD_ADMIN_TOKEN: TOKEN,
    });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^rule kyc-approved-but-flagged failed on this event, counted as not matching: TypeError: /m);

    const metrics = await (await fetch(`${herald.url}/metrics`)).text();
    assert.match(metrics, /^herald_routing_errors_total\{rule="kyc-approved-but-flagged"\} 1$/m);
    assert.match(metrics, /^herald_alerts_total\{type="herald\.rule\.failed",rule="kyc-approved-but-flagged"\} 1$/m);

    const [alert] = await herald.store.listEvents({ source: 'herald' });
    assert.equal(alert!.type, 'herald.rule.failed');
    assert.equal(alert!.subject, 'kyc-approved-but-flagged');
    assert.equal(alert!.data.eventId, poisonedId);
    assert.ok(!JSON.stringify(alert!.data).includes('kyc_sess_'), 'the alert quotes nothing of the event');
    assert.ok(
      slack.requests.some((r) => r.body.includes('Rule failed: kyc-approved-but-flagged')),
      'the alert reached Slack',
    );
    assert.ok(
      smtp.mails.some((m) => /rule kyc-approved-but-flagged failed on an event/.test(m.subject ?? '')),
      'and email',
    );

    // Later events still route, and the same poison again fails alone again (one alert per `every`).
    const again = await herald.postSigned(sources.legaltalent, { ...poisoned, id: 'evt_poison_again' });
    assert.equal(again.status, 200);
    const flagged = await herald.postSigned(sources.legaltalent, { ...processed, id: 'evt_flagged' });
    assert.equal(flagged.status, 200);
    await waitUntil(
      async () => (await herald.store.listDeliveries({ rule: 'kyc-approved-but-flagged' })).length === 1,
      10_000,
      'the clean flagged event to be routed',
    );
    assert.deepEqual(await herald.store.unroutedEvents(100), []);
    assert.equal((await herald.store.listEvents({ source: 'herald' })).length, 1);
  });
});
