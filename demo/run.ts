/**
 * `npm run demo`: herald with the shipped rules and templates, local stand-ins
 * for Slack, an SMTP server, a CRM webhook receiver and FaceSign's session API,
 * and signed sample events of each provider (FaceSign's session.status is
 * enriched with the session from the stand-in API). Prints what each destination received. No network,
 * no secrets of yours.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';
import { silentLogger } from '../src/core/log.js';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import { startHerald } from '../src/app/start-herald.js';
import { PROVIDERS } from '../src/providers/registry.js';
import { loadSample, loadSampleSession } from '../src/providers/samples.js';
import { loadSetup } from '../src/app/setup.js';
import { settledDeliveries } from '../test/helpers/herald.js';
import { startHttpSink, startSmtpSink, waitUntil } from '../test/helpers/sinks.js';

const CONFIG = path.join(PACKAGE_ROOT, 'demo/herald.demo.yaml');
const EVENTS: Array<[source: string, type: string]> = [
  ['kyc', 'kyc.session.rejected'],
  ['kyc', 'watchlist.match'],
  ['owleyes', 'verification.failed'],
  ['faceio', 'DELETION'],
  ['facesign', 'media.user_photo'],
  ['facesign', 'session.status'],
];

async function main(): Promise<void> {
  const slack = await startHttpSink(() => ({ status: 200, body: 'ok' }));
  const crm = await startHttpSink(() => ({ status: 200 }));
  const smtp = await startSmtpSink();
  // FaceSign's GET /sessions/{id}: the sample session, complete, under the id asked for.
  const facesignApi = await startHttpSink((req) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ session: { ...loadSampleSession(), id: decodeURIComponent(req.path.split('/').at(-1)!) } }),
  }));
  const setup = loadSetup(CONFIG, {
    ...process.env,
    DEMO_SLACK_URL: `${slack.url}/services/demo`,
    DEMO_SMTP_URL: smtp.url,
    DEMO_CRM_URL: `${crm.url}/crm`,
    DEMO_FACESIGN_API_URL: facesignApi.url,
  });
  const herald = await startHerald(setup, silentLogger());
  try {
    for (const [sourceName, type] of EVENTS) {
      const source = setup.config.sources[sourceName]!;
      const provider = PROVIDERS[source.provider];
      const body = Buffer.from(JSON.stringify(provider.freshenSample(loadSample(source.provider, type), Date.now())));
      const response = await fetch(`http://127.0.0.1:${herald.port}/webhooks/${sourceName}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...provider.sign(body, source, Date.now()) },
        body: new Uint8Array(body),
      });
      console.log(`sent ${sourceName} ${type}: ${response.status} ${await response.text()}`);
    }
    // The session.status waits for its session before it is routed.
    await waitUntil(
      async () => {
        const [event] = await herald.store.listEvents({ type: 'session.status' });
        return event?.enrichment !== undefined && (await herald.store.listDeliveries({ eventId: event.id })).length > 0;
      },
      30_000,
      'the session.status to be enriched and routed',
    );
    console.log(`\nFaceSign's session API (stand-in) was asked for ${facesignApi.requests.map((r) => r.path).join(', ')}`);
    await settledDeliveries(herald.store, 1, undefined, 30_000);

    const crmSecret = (setup.config.destinations.crm!.options as { secret: string }).secret;
    console.log(`\ncompliance-slack (Slack stand-in) received ${slack.requests.length} messages:`);
    for (const r of slack.requests) console.log(`  ${(JSON.parse(r.body) as { text: string }).text.split('\n')[0]}`);
    console.log(`\ncompliance-email (SMTP server) received ${smtp.mails.length} emails:`);
    for (const mail of smtp.mails) console.log(`  to ${mail.to && !Array.isArray(mail.to) ? mail.to.text : ''}: ${mail.subject}`);
    console.log(`\ncrm (webhook receiver) received ${crm.requests.length} signed webhooks:`);
    for (const r of crm.requests) {
      const payload = new Webhook(crmSecret).verify(r.body, r.headers as Record<string, string>) as { type: string };
      console.log(`  ${payload.type} (webhook-id ${String(r.headers['webhook-id'])}, signature verified)`);
    }
    const dead = await herald.store.listDeliveries({ status: 'dead' });
    if (dead.length > 0 || slack.requests.length === 0 || smtp.mails.length === 0 || crm.requests.length === 0) {
      console.error(`\ndemo failed: ${dead.length} dead deliveries`);
      process.exitCode = 1;
    }
  } finally {
    await herald.close();
    await Promise.all([slack.close(), crm.close(), smtp.close(), facesignApi.close()]);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
