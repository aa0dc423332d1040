/**
 * The operations commands through a running herald's admin API (--api), run
 * as a user would: the built CLI as a child process against `herald serve`
 * on a random port with HERALD_ADMIN_TOKEN set, on a SQLite store seeded with
 * 600 routed events and dead letters. Every read prints exactly what the same
 * command prints on the store; replay, retry and pause act on the serving
 * process; and what goes wrong (a wrong or missing token, an unknown id, a
 * delivered delivery, nobody listening) is one clear line and exit 1, never
 * the token.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { generateEd25519KeyPair, generateHmacSecret } from '../../src/core/signing-keys.js';
import { loadSample } from '../../src/providers/samples.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Delivery, NewDelivery } from '../../src/store/store.js';
import { freePort, runHerald, serveHerald, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { testSource } from '../helpers/config.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';
import { event } from '../store/contract.js';

const TOKEN = 'ops-api-token-Vb27kQ';
const RECENT = 600;
const SINCE = '2025-01-01T00:00:00Z';
/** API mode needs no config: a missing file proves the command never reads one. */
const NO_CONFIG = ['--config', '/nonexistent/herald.config.yaml'];
/** The keys of the destination "signed": a new Ed25519 key beside an HMAC secret. */
const SIGNED = { ed25519: generateEd25519KeyPair(), hmac: generateHmacSecret() };

describe('herald events, dlq, replay and destinations through a running herald (--api)', function () {
  this.timeout(180_000);
  let dir: string;
  let config: string;
  let dbFile: string;
  let sink: HttpSink;
  let herald: ServeProcess;
  let api: string;
  const old = { eventId: '', deliveryId: '' };
  /** A live event whose delivery the sink refused (dead, one attempt), and one delivered. */
  const live = { deadEventId: '', deadDeliveryId: '', deliveredEventId: '' };

  async function withStore<T>(read: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = new SqliteStore(dbFile);
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }
  const deliveries = () => withStore((store) => store.listDeliveries({ limit: 100_000 }));

  /** `herald <args>` on the store. */
  const onStore = (args: string[]) => runHerald(['--config', config, ...args], { HERALD_API_URL: undefined });
  /** `herald <args> --api <url>` with the token in the environment. */
  const viaApi = (args: string[], env: NodeJS.ProcessEnv = {}) => runHerald([...NO_CONFIG, ...args, '--api', api], { HERALD_ADMIN_TOKEN: TOKEN, ...env });

  /** Runs a command both ways at once and asserts they print the same, successfully. */
  async function assertSameBothWays(args: string[]): Promise<CliResult> {
    const [store, viaHttp] = await Promise.all([onStore(args), viaApi(args)]);
    assert.equal(store.code, 0, `${args.join(' ')} on the store: ${store.stderr}`);
    assert.equal(viaHttp.code, 0, `${args.join(' ')} --api: ${viaHttp.stderr}`);
    assert.equal(viaHttp.stdout, store.stdout, `${args.join(' ')} prints the same through the API as on the store`);
    assert.ok(store.stdout.length > 0);
    return viaHttp;
  }

  /** Posts a fresh signed FaceSign event to the running herald and waits until its delivery settles. */
  async function postLiveEvent(): Promise<Delivery> {
    const before = new Set((await deliveries()).map((d) => d.id));
    const { body, headers } = signedRequest(
      testSource('facesign', 'facesign'),
      PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()),
    );
    const reply = await fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
    assert.equal(reply.status, 200);
    let settled: Delivery | undefined;
    await waitUntil(
      async () => {
        settled = (await deliveries()).find((d) => !before.has(d.id) && d.status !== 'pending');
        return settled !== undefined;
      },
      15_000,
      'the live event to be delivered or dead',
    );
    return settled!;
  }

  before(async () => {
    dir = tempDir();
    // The sink refuses the first delivery for good (400), then accepts.
    sink = await startHttpSink((_, i) => (i === 0 ? { status: 400, body: 'no' } : { status: 200 }));
    const port = await freePort();
    // No operational alerts: the seeded dead letter would raise one, and the sink's first answer is meant for the live event.
    // "signed" is routed to by no rule: it is there to be shown.
    const signed = `  signed: { type: webhook, url: "${sink.url}/signed", secrets: ["${SIGNED.ed25519.secretKey}", "${SIGNED.hmac}"] }`;
    // A retention of ten years keeps the seeded 2020 event: the default 30 days had herald's first prune,
    // a minute after start, delete it mid-run whenever the file ran long.
    config = writeHookConfig(dir, port, sink.url, `${signed}\nalerts: { enabled: false }\nretention: 3650d`);
    dbFile = path.join(dir, 'herald.db');
    await withStore(async (store) => {
      await store.migrate();
      const early = event('facesign', { receivedAt: '2020-01-01T00:00:00.000Z', subject: 'sess_old' });
      await store.insertEvent({ event: early, dedupeKey: early.id, dedupeUntilMs: Date.now() + 60_000 });
      const dead: NewDelivery = {
        id: early.id.replace(/.$/, '0'),
        rule: 'everything-to-hook',
        destination: 'hook',
        template: 'session-finished',
        status: 'dead',
        message: { channel: 'webhook', body: { hello: 'from the dead letters' }, contentType: 'application/json' },
        error: 'client-error: 400',
      };
      await store.markRouted([{ eventId: early.id, rulesVersion: 'v0', deliveries: [dead] }]);
      Object.assign(old, { eventId: early.id, deliveryId: dead.id });
      // Routed when no rule matched: a replay gives each one delivery.
      const recent = Array.from({ length: RECENT }, (_, i) => event('facesign', { subject: `sess_${i % 3}` }));
      await Promise.all(recent.map((e) => store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 })));
      await store.markRouted(recent.map((e) => ({ eventId: e.id, rulesVersion: 'v0', deliveries: [] })));
    });
    herald = await serveHerald(['--config', config], port, { HERALD_ADMIN_TOKEN: TOKEN });
    api = herald.url;
    const dead = await postLiveEvent();
    assert.equal(dead.status, 'dead');
    const delivered = await postLiveEvent();
    assert.equal(delivered.status, 'delivered');
    Object.assign(live, { deadEventId: dead.eventId, deadDeliveryId: dead.id, deliveredEventId: delivered.eventId });
  });
  after(async () => {
    if (herald) {
      herald.child.kill('SIGTERM');
      await herald.exited;
    }
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('events list prints the same tables and JSON as on the store, filtered and paged', async () => {
    const table = await assertSameBothWays(['events', 'list']);
    assert.match(table.stdout, /^ID\s+RECEIVED\s+SOURCE\s+TYPE\s+OUTCOME\s+SUBJECT\n/);
    assert.equal(table.stdout.split('\n').length, 1 + 100 + 1 + 1, 'header, the default page of 100, the cursor line');
    const page = JSON.parse((await assertSameBothWays(['events', 'list', '--limit', '5', '--json'])).stdout) as {
      events: Array<{ id: string }>;
      nextCursor: string;
    };
    assert.equal(page.events.length, 5);
    const next = await assertSameBothWays(['events', 'list', '--limit', '3', '--after', page.nextCursor]);
    assert.match(next.stdout, /more: --after \S+\n$/);
    const filtered = JSON.parse((await assertSameBothWays(['events', 'list', '--subject', 'sess_old', '--json'])).stdout) as { events: Array<{ id: string }> };
    assert.deepEqual(
      filtered.events.map((e) => e.id),
      [old.eventId],
    );
    await assertSameBothWays(['events', 'list', '--source', 'facesign', '--since', '1h', '--until', '2030-01-01T00:00:00Z', '--limit', '1000', '--json']);
  });

  it('events show prints the same event, deliveries and attempts as on the store', async () => {
    const shown = await assertSameBothWays(['events', 'show', live.deadEventId]);
    assert.match(shown.stdout, new RegExp(`delivery ${live.deadDeliveryId}  rule everything-to-hook -> hook  dead  1 attempt\\(s\\)`));
    assert.match(shown.stdout, /\n {2}#\s+STARTED\s+MS\s+OUTCOME\s+STATUS\s+ERROR\n {2}1\s+\S+\s+\d+\s+dead\s+400/);
    const json = JSON.parse((await assertSameBothWays(['events', 'show', live.deadEventId, '--json'])).stdout) as { matchedRules: string[] };
    assert.deepEqual(json.matchedRules, ['everything-to-hook']);
    await assertSameBothWays(['events', 'show', old.eventId, '--json']);
  });

  it('dlq list prints the same dead letters as on the store', async () => {
    const table = await assertSameBothWays(['dlq', 'list']);
    assert.ok(table.stdout.includes(old.deliveryId) && table.stdout.includes(live.deadDeliveryId));
    const json = JSON.parse((await assertSameBothWays(['dlq', 'list', '--destination', 'hook', '--limit', '1', '--json'])).stdout) as {
      deadLetters: Delivery[];
      nextCursor: string | null;
    };
    assert.deepEqual(
      json.deadLetters.map((d) => d.id),
      [old.deliveryId],
    );
    await assertSameBothWays(['dlq', 'list', '--after', json.nextCursor!, '--json']);
    assert.deepEqual(JSON.parse((await assertSameBothWays(['dlq', 'retry', '--rule', 'another', '--json'])).stdout), { retried: 0 });
  });

  it('replay --dry-run plans the same as on the store and creates nothing', async () => {
    const before = (await deliveries()).length;
    const json = JSON.parse((await assertSameBothWays(['replay', '--since', SINCE, '--dry-run', '--json'])).stdout) as unknown;
    const events = RECENT + 2;
    assert.deepEqual(json, { dryRun: true, events, deliveries: events, byRule: { 'everything-to-hook': events }, batched: 0, batchedByRule: {}, notRouted: 0 });
    const table = await assertSameBothWays(['replay', '--since', SINCE, '--until', '2030-01-01T00:00:00Z', '--dry-run']);
    assert.match(table.stdout, new RegExp(`^${events} events checked: ${events} deliveries would be created \\(dry run: nothing stored\\)\\n`));
    assert.equal((await deliveries()).length, before, 'a dry run creates no delivery');
    const rule = await viaApi(['replay', '--since', SINCE, '--rule', 'nope', '--dry-run']);
    assert.equal(rule.code, 1);
    assert.equal(rule.stderr, 'no rule "nope" in the rule files (everything-to-hook)\n', 'the same message as on the store');
    // --rule repeated: the whole set goes to the API, which checks every name.
    const set = await viaApi(['replay', '--since', SINCE, '--rule', 'everything-to-hook', '--rule', 'nope', '--dry-run']);
    assert.equal(set.code, 1);
    assert.equal(set.stderr, 'no rule "nope" in the rule files (everything-to-hook)\n');
    const repeated = await assertSameBothWays([
      'replay',
      '--since',
      SINCE,
      '--rule',
      'everything-to-hook',
      '--rule',
      'everything-to-hook',
      '--dry-run',
      '--json',
    ]);
    assert.deepEqual((JSON.parse(repeated.stdout) as { byRule: unknown }).byRule, { 'everything-to-hook': events });
  });

  it('replay through the API creates one delivery per event, page by page with progress, and the herald sends them', async () => {
    const before = await deliveries();
    const sent = sink.requests.length;
    const result = await viaApi(['replay', '--since', SINCE, '--progress']);
    const events = RECENT + 2;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, new RegExp(`replaying \\[.*\\] 100% \\| ${events}/${events} events \\| ${events} deliveries`));
    assert.match(result.stdout, new RegExp(`^${events} events replayed: ${events} deliveries created\\n`));
    assert.match(result.stdout, new RegExp(`everything-to-hook\\s+${events}\\n`));
    const known = new Set(before.map((d) => d.id));
    const created = (await deliveries()).filter((d) => !known.has(d.id));
    assert.equal(created.length, events);
    assert.equal(new Set(created.map((d) => d.eventId)).size, events, 'one per event');
    assert.ok(created.every((d) => d.destination === 'hook' && d.rule === 'everything-to-hook'));
    await sink.waitFor(sent + events, 60_000);
  });

  it('dlq retry through the API: the herald sends them; a delivered or unknown delivery is a clear error', async () => {
    const one = await viaApi(['dlq', 'retry', live.deadDeliveryId]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^1 dead delivery made pending/);
    await waitUntil(
      async () => (await deliveries()).some((d) => d.id === live.deadDeliveryId && d.status === 'delivered'),
      15_000,
      'the retried delivery to be sent',
    );
    const again = await viaApi(['dlq', 'retry', live.deadDeliveryId]);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, `cannot retry delivery ${live.deadDeliveryId}: the delivery was delivered already\n`);
    const unknown = await viaApi(['dlq', 'retry', 'no-such-delivery']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, `no delivery no-such-delivery at ${api}\n`);

    const all = await viaApi(['dlq', 'retry', '--destination', 'hook', '--since', '2000-01-01T00:00:00Z', '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.stdout), { retried: 1 }, 'the old dead letter');
    await waitUntil(() => sink.requests.some((r) => r.body.includes('from the dead letters')), 15_000, 'the old dead letter to be sent');
  });

  it('events show of an unknown id is a clear error', async () => {
    const missing = await viaApi(['events', 'show', 'no-such-event']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `no event no-such-event at ${api}\n`);
    assert.equal(missing.stdout, '');
  });

  it('destinations pause and resume act on the serving process, and only through the API', async () => {
    const paused = await viaApi(['destinations', 'pause', 'hook']);
    assert.equal(paused.code, 0, paused.stderr);
    assert.equal(paused.stdout, 'hook paused; paused destinations now: hook\n');
    const resumed = await viaApi(['destinations', 'resume', 'hook', '--json']);
    assert.deepEqual(JSON.parse(resumed.stdout), { destination: 'hook', paused: false, pausedDestinations: [] });
    const unknown = await viaApi(['destinations', 'pause', 'nowhere']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, `no destination "nowhere" in the config of the herald at ${api}\n`);
    const onTheStore = await onStore(['destinations', 'pause', 'hook']);
    assert.equal(onTheStore.code, 1);
    assert.match(onTheStore.stderr, /^a pause lives in the memory of a running herald, not in the store: give --api <url>/);
  });

  it('destinations show prints the public signing keys, the same from the config as through the API, and never a secret', async () => {
    const shown = await assertSameBothWays(['destinations', 'show', 'signed']);
    assert.equal(
      shown.stdout,
      [
        'signed: webhook destination, 2 signing keys (one signature each per request):',
        `  1. v1a  Ed25519      ${SIGNED.ed25519.publicKey}`,
        '  2. v1   HMAC-SHA256  shared secret (whsec_), not shown: the receiver holds the same secret',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await assertSameBothWays(['destinations', 'show', 'signed', '--json'])).stdout) as unknown;
    assert.deepEqual(json, {
      name: 'signed',
      type: 'webhook',
      signingKeys: [
        { scheme: 'v1a', algorithm: 'Ed25519', publicKey: SIGNED.ed25519.publicKey },
        { scheme: 'v1', algorithm: 'HMAC-SHA256' },
      ],
    });
    const one = await assertSameBothWays(['destinations', 'show', 'hook']);
    assert.match(one.stdout, /^hook: webhook destination, 1 signing key \(/);
    const [unknownViaApi, unknownOnConfig] = await Promise.all([viaApi(['destinations', 'show', 'nowhere']), onStore(['destinations', 'show', 'nowhere'])]);
    assert.equal(unknownViaApi.code, 1);
    assert.equal(unknownViaApi.stderr, `no destination "nowhere" in the config of the herald at ${api}\n`);
    assert.equal(unknownOnConfig.code, 1);
    assert.equal(unknownOnConfig.stderr, `no destination "nowhere" in ${config} (destinations: hook, signed)\n`);
    for (const output of [shown, one, unknownViaApi, unknownOnConfig].flatMap((r) => [r.stdout, r.stderr])) {
      for (const secret of [SIGNED.ed25519.secretKey, SIGNED.hmac]) assert.ok(!output.includes(secret.slice(secret.indexOf('_') + 1)), output);
    }
  });

  it('takes the URL from HERALD_API_URL; an empty one means the store', async () => {
    const [fromEnv, fromStore] = await Promise.all([
      runHerald([...NO_CONFIG, 'events', 'list', '--subject', 'sess_old', '--json'], { HERALD_API_URL: api, HERALD_ADMIN_TOKEN: TOKEN }),
      runHerald(['--config', config, 'events', 'list', '--subject', 'sess_old', '--json'], { HERALD_API_URL: '', HERALD_ADMIN_TOKEN: TOKEN }),
    ]);
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.equal(fromStore.code, 0, fromStore.stderr);
    assert.equal(fromEnv.stdout, fromStore.stdout);
    assert.match(fromEnv.stdout, new RegExp(old.eventId));
  });

  it('a wrong or missing token is a clear error and exit 1, never echoing a token', async () => {
    const wrongToken = 'wrong-token-Zq93xx';
    for (const args of [
      ['events', 'list'],
      ['dlq', 'retry', old.deliveryId],
      ['replay', '--since', SINCE, '--progress'],
    ]) {
      const wrong = await viaApi(args, { HERALD_ADMIN_TOKEN: wrongToken });
      assert.equal(wrong.code, 1, args.join(' '));
      assert.equal(wrong.stderr, `the herald at ${api} refused the admin token (401): set HERALD_ADMIN_TOKEN to the token herald serve runs with\n`);
      for (const secret of [wrongToken, TOKEN]) assert.ok(!`${wrong.stdout}${wrong.stderr}`.includes(secret), 'no token in the output');
    }
    const missing = await viaApi(['events', 'list'], { HERALD_ADMIN_TOKEN: undefined });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^set HERALD_ADMIN_TOKEN to the admin token of the herald at --api/);
    const inUrl = await runHerald([...NO_CONFIG, 'events', 'list', '--api', api.replace('http://', `http://admin:${TOKEN}@`)], { HERALD_ADMIN_TOKEN: TOKEN });
    assert.equal(inUrl.code, 1);
    assert.equal(inUrl.stderr, '--api takes a URL without credentials: the token comes from HERALD_ADMIN_TOKEN\n');
  });

  it('a herald that is not there is a clear error and exit 1', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    // A process of its own: the failure it prints, and its exit code, as a user sees them.
    const refused = await runHerald([...NO_CONFIG, 'events', 'show', old.eventId, '--api', nobody], { HERALD_ADMIN_TOKEN: TOKEN }, { process: true });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `could not connect to ${nobody}: connection refused (is herald serve running there, on that port?)\n`);
    assert.ok(!refused.stderr.includes(TOKEN));
  });
});
