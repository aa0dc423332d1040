/**
 * Secrets and personal data never appear in a log line, an error message or a
 * stored attempt, on any path: every provider accepted and refused, every
 * channel succeeding and failing, herald's own alerts about them included;
 * logged by a plain pino (so that a secret a caller logged would show) and by
 * herald's own pretty logger (HERALD_LOG_FORMAT=pretty). And personal fields
 * never leave herald in a notification unless a rule or source opts in.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { DestinationConfig } from '../../src/core/config.js';
import { pino } from 'pino';
import { createLogger, type Logger } from '../../src/core/log.js';
import { generateEd25519KeyPair, generateHmacSecret } from '../../src/core/signing-keys.js';
import { startHerald } from '../../src/app/start-herald.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { loadRouting } from '../../src/app/setup.js';
import { startSmtpPeer, type SmtpPeer } from '../channels/smtp-peer.js';
import { ALERT_DEFAULTS, testConfig, testSource, SHIPPED_RULES_DIR } from '../helpers/config.js';
import { settledDeliveries, signedRequest, tempDir } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const SECRETS = {
  facesign: 'FSsecretZQ81x',
  faceio: 'FIOtokenWQ72y',
  legaltalent: 'LTsecretPK63z',
  owleyes: 'OEsecretMN54w',
  slackToken: 'SLACKtokenXB45v',
  smtpPassword: 'SMTPpassRT36u',
  webhook: 'whsec_U0VDUkVUd2ViaG9va0tleTk5OTk5OTk5OTk=',
  // The CRM signs with several keys at once: a new HMAC secret, an Ed25519 secret key, and the old secret above.
  webhookNew: generateHmacSecret(),
  webhookEd25519: generateEd25519KeyPair().secretKey,
};
/** A CRM that fails echoes the keys it holds, as a careless error page might: each must be scrubbed. */
const ECHOED_KEYS = [SECRETS.webhookNew, SECRETS.webhookEd25519, SECRETS.webhookEd25519.slice('whsk_'.length)].join(' ');
const FIRST_TYPE = { facesign: 'session.status', faceio: 'AUTH', legaltalent: 'kyc.session.created', owleyes: 'verification.started' } as const;
const PERSONAL = ['198.51.100.77', 'Ada Lovelace', '1815-12-10', 'Z9876543'];
const LOGGERS: Record<string, (stream: Writable) => Logger> = {
  // Without pino's censoring, which would hide a secret a caller logged by mistake.
  'plain JSON logs': (stream) => pino({ level: 'trace' }, stream),
  'herald pretty logs': (stream) => createLogger({ level: 'trace', format: 'pretty' }, stream),
};

describe('no secret or personal value in logs, errors, attempts or notifications', function () {
  this.timeout(60_000);
  let slack: HttpSink;
  let crm: HttpSink;
  let smtp: SmtpPeer;

  beforeEach(async () => {
    // Slack and the CRM fail once with a body that echoes what they got, then accept.
    slack = await startHttpSink((req, i) => (i % 2 === 0 ? { status: 500, body: `error for ${req.path}` } : { status: 200, body: 'ok' }));
    crm = await startHttpSink((req, i) =>
      i % 2 === 0 ? { status: 503, body: `with keys ${ECHOED_KEYS} could not handle ${req.body.slice(0, 200)}` } : { status: 200 },
    );
    smtp = await startSmtpPeer('herald', SECRETS.smtpPassword);
  });
  afterEach(async () => {
    await Promise.all([slack.close(), crm.close(), smtp.close()]);
  });

  for (const [name, logger] of Object.entries(LOGGERS))
    it(`holds on every path (${name})`, async () => {
      const lines: string[] = [];
      const log = logger(
        new Writable({
          write: (chunk, _enc, done) => {
            lines.push(String(chunk));
            done();
          },
        }),
      );
      const sources = {
        facesign: testSource('facesign', 'facesign', { secrets: [SECRETS.facesign] }),
        faceio: testSource('faceio', 'faceio', { tokens: [SECRETS.faceio] }),
        legaltalent: testSource('legaltalent', 'legaltalent', { secrets: [SECRETS.legaltalent] }),
        owleyes: testSource('owleyes', 'owleyes', { secrets: [SECRETS.owleyes] }),
      };
      const smtpUrl = `smtp://herald:${SECRETS.smtpPassword}@127.0.0.1:${smtp.port}`;
      const destinations: Record<string, DestinationConfig> = {
        'compliance-slack': {
          name: 'compliance-slack',
          type: 'slack',
          options: {
            url: `${slack.url}/services/T0/B0/${SECRETS.slackToken}`,
            rate: '100/s',
            allowPrivateNetwork: true,
            delivery: { retry: ['100ms', '100ms'] },
          },
        },
        'compliance-email': {
          name: 'compliance-email',
          type: 'email',
          options: { smtp: smtpUrl, from: 'herald@example.com', to: ['compliance@example.com', 'nobody@example.com'] },
        },
        // Its first 503 opens the breaker, and the shipped rules send that alert to Slack and email.
        crm: {
          name: 'crm',
          type: 'webhook',
          options: {
            url: `${crm.url}/crm`,
            secrets: [SECRETS.webhookNew, SECRETS.webhookEd25519, SECRETS.webhook],
            allowPrivateNetwork: true,
            delivery: { retry: ['100ms', '100ms'] },
            breaker: { failures: 1, probe: ['100ms'] },
          },
        },
      };
      const dir = tempDir();
      const alerts = { ...ALERT_DEFAULTS, checkEveryMs: 200 };
      const config = testConfig(`sqlite:${path.join(dir, 'herald.db')}`, { sources, destinations, rulesDir: SHIPPED_RULES_DIR, alerts });
      const herald = await startHerald(loadRouting(config), log);
      const url = `http://127.0.0.1:${herald.port}`;
      const post = async (source: string, request: { body: Buffer; headers: Record<string, string> }) =>
        (await fetch(`${url}/webhooks/${source}`, { method: 'POST', headers: request.headers, body: new Uint8Array(request.body) })).status;

      try {
        // Personal values in the payloads that carry them.
        const enroll = { ...loadSample('faceio', 'DELETION'), clientIp: PERSONAL[0] };
        const owl = loadSample('owleyes', 'verification.failed') as { data: Record<string, unknown> };
        owl.data.extracted_data = { full_name: PERSONAL[1], date_of_birth: PERSONAL[2], document_number: PERSONAL[3] };
        const kyc = loadSample('legaltalent', 'kyc.session.rejected') as { data: Record<string, unknown> };
        kyc.data.extracted_data = { first_name: PERSONAL[1], date_of_birth: PERSONAL[2], document_number: PERSONAL[3] };
        const accepted = [
          ['facesign', PROVIDERS.facesign.freshenSample(loadSample('facesign', 'media.user_photo'), Date.now())],
          ['faceio', enroll],
          ['owleyes', owl],
          ['legaltalent', kyc],
        ] as const;
        for (const [name, payload] of accepted) assert.equal(await post(name, signedRequest(sources[name], payload)), 200, name);
        // Refused requests: wrong secrets, garbage.
        for (const [name, source] of Object.entries(sources)) {
          const wrong = { ...source, secrets: ['wrong'], tokens: ['wrong'] };
          assert.equal(await post(name, signedRequest(wrong, loadSample(source.provider, FIRST_TYPE[source.provider]))), 401);
          assert.equal(await post(name, signedRequest(source, Buffer.from('{"broken'))), 400);
        }
        // Every delivery settles: Slack and the CRM after a retry, email partly refused.
        await waitUntil(() => slack.requests.length >= 2 && crm.requests.length >= 2 && smtp.mails.length >= 1, 20_000);
        await waitUntil(() => slack.requests.some((r) => r.body.includes('Deliveries paused: crm')), 20_000, 'the breaker alert in Slack');
        await settledDeliveries(herald.store, 1, undefined, 20_000);

        const stored: string[] = [];
        for (const d of await herald.store.listDeliveries({ limit: 100 })) {
          stored.push(d.lastError ?? '');
          for (const a of await herald.store.listAttempts(d.id)) stored.push(JSON.stringify(a));
        }
        const outbound = [
          ...slack.requests.map((r) => r.body),
          ...crm.requests.map((r) => r.body),
          ...smtp.mails.map((m) => `${m.parsed.text}${m.parsed.html}`),
        ];
        assert.ok(lines.length > 10, 'the test captured the logs');
        assert.ok(
          stored.some((t) => t.includes('with keys [redacted] [redacted] [redacted] could not')),
          "the CRM's echo of its keys was recorded, scrubbed",
        );
        for (const secret of Object.values(SECRETS)) {
          for (const [what, texts] of [
            ['log', lines],
            ['stored attempt', stored],
            ['notification', outbound],
          ] as const) {
            const leak = texts.find((t) => t.includes(secret) || t.includes(secret.replace(/^wh(sec|sk)_/, '')));
            assert.equal(leak, undefined, `secret ${secret} in a ${what}: ${leak?.slice(0, 300)}`);
          }
        }
        for (const value of PERSONAL) {
          for (const [what, texts] of [
            ['log', lines],
            ['stored attempt', stored],
            ['notification', outbound],
          ] as const) {
            const leak = texts.find((t) => t.includes(value));
            assert.equal(leak, undefined, `personal value ${value} in a ${what}: ${leak?.slice(0, 300)}`);
          }
        }
      } finally {
        await herald.close();
      }
    });
});
