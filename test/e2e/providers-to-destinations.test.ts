/**
 * End to end, for each provider: a signed request produces exactly the expected
 * Slack message (at a local server that behaves like Slack's incoming webhooks),
 * the expected email (at a real SMTP server, parsed with mailparser) and the
 * expected outbound webhook (verified with the official standardwebhooks
 * library), through the shipped rules and templates. What arrives is compared
 * with test/e2e/expected/<provider>.json; set UPDATE_EXPECTED=1 to rewrite
 * those files after changing a template on purpose (and review the diff).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { ProviderId } from '../../src/core/event.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { loadSample } from '../../src/providers/samples.js';
import { SHIPPED_RULES_DIR, testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, startSmtpSink, waitUntil, type HttpSink, type SmtpSink } from '../helpers/sinks.js';

const CRM_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const EXPECTED_DIR = path.join(PACKAGE_ROOT, 'test/e2e/expected');
/** herald's clock is pinned, so receive times (and FACEIO's event time) are the same in every run. */
const RECEIVED_AT = Date.parse('2026-11-18T12:00:00Z');

/** One sample per provider whose shipped rule sends to all three destinations (FaceSign: Slack and CRM). */
const CASES: Array<[ProviderId, string, { slack: number; email: number; crm: number }]> = [
  ['legaltalent', 'kyc.session.rejected', { slack: 1, email: 1, crm: 1 }],
  ['owleyes', 'verification.failed', { slack: 1, email: 1, crm: 1 }],
  ['faceio', 'DELETION', { slack: 1, email: 1, crm: 1 }],
  ['facesign', 'media.user_photo', { slack: 1, email: 0, crm: 1 }],
];

/** Replaces what differs between runs (herald's ids and receive times) with placeholders. */
function stable(value: unknown, volatile: Map<string, string>): unknown {
  let text = JSON.stringify(value);
  for (const [actual, placeholder] of volatile) text = text.split(actual).join(placeholder);
  return JSON.parse(text);
}

describe('each provider to Slack, email and a webhook, through the shipped rules and templates', function () {
  this.timeout(30_000);
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
        destinations: {
          'compliance-slack': {
            name: 'compliance-slack',
            type: 'slack',
            options: { url: `${slack.url}/services/T0/B0/x`, rate: '100/s', allowPrivateNetwork: true },
          },
          'compliance-email': {
            name: 'compliance-email',
            type: 'email',
            options: { smtp: smtp.url, from: 'herald <herald@example.com>', to: ['compliance@example.com'], cc: ['audit@example.com'] },
          },
          crm: { name: 'crm', type: 'webhook', options: { url: `${crm.url}/crm`, secret: CRM_SECRET, format: 'standard', allowPrivateNetwork: true } },
        },
      },
      { now: () => RECEIVED_AT },
    );
  });
  afterEach(async () => {
    await herald.stop();
    await Promise.all([slack.close(), crm.close(), smtp.close()]);
  });

  for (const [provider, type, counts] of CASES) {
    it(`${provider} ${type}`, async () => {
      const reply = await herald.postSigned(sources[provider], loadSample(provider, type), RECEIVED_AT);
      assert.equal(reply.status, 200, reply.body);
      await waitUntil(() => slack.requests.length >= counts.slack && smtp.mails.length >= counts.email && crm.requests.length >= counts.crm);
      await new Promise((r) => setTimeout(r, 200)); // nothing more arrives
      assert.deepEqual([slack.requests.length, smtp.mails.length, crm.requests.length], [counts.slack, counts.email, counts.crm]);

      const [event] = await herald.store.listEvents();
      const volatile = new Map([[event!.id, '<event id>']]);
      for (const d of await herald.store.listDeliveries()) volatile.set(d.id, '<delivery id>');

      const received = {
        slack: slack.requests.map((r) => ({ path: r.path, contentType: r.headers['content-type'], payload: JSON.parse(r.body) })),
        email: smtp.mails.map((m) => ({
          from: m.from?.text,
          to: Array.isArray(m.to) ? m.to.map((t) => t.text) : m.to?.text,
          cc: Array.isArray(m.cc) ? m.cc.map((t) => t.text) : m.cc?.text,
          subject: m.subject,
          text: m.text,
          html: m.html,
        })),
        webhook: crm.requests.map((r) => ({
          contentType: r.headers['content-type'],
          webhookId: r.headers['webhook-id'],
          body: new Webhook(CRM_SECRET).verify(r.body, r.headers as Record<string, string>),
        })),
      };
      const actual = stable(received, volatile);
      const file = path.join(EXPECTED_DIR, `${provider}.json`);
      if (process.env.UPDATE_EXPECTED === '1' || !existsSync(file)) {
        if (process.env.CI) assert.fail(`${file} is missing: run the tests with UPDATE_EXPECTED=1 and commit it`);
        writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
      }
      assert.deepEqual(actual, JSON.parse(readFileSync(file, 'utf8')));
    });
  }
});
