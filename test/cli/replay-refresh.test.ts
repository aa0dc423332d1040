/**
 * `herald replay --refresh-session`, on the store and through a running
 * herald (--api), against a stand-in for FaceSign's session API on
 * 127.0.0.1: each enriched event's session is fetched again, once per
 * session, routed and stored; a session FaceSign fails on is reported
 * (never the key) and its events replayed with what they have. On the store
 * the command needs the API key of the source, not its webhook secret.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NormalizedEvent } from '../../src/core/event.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { freePort, runHerald, serveHerald } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, type HttpSink, type Replier } from '../helpers/sinks.js';
import { event } from '../store/contract.js';

const API_KEY = 'sk_test_CliReplayKEY81';
const TOKEN = 'replay-refresh-token-Qd61';
const SINCE = '2025-01-01T00:00:00Z';

const sessionIdOf = (urlPath: string) => decodeURIComponent(urlPath.split('/').at(-1)!);
/** FaceSign: sess_ok is complete now; sess_bad fails with a 500 whose text holds the key. */
const facesign: Replier = (req) =>
  sessionIdOf(req.path) === 'sess_bad'
    ? { status: 500, body: JSON.stringify({ error: { type: 'api_error', message: `no ${API_KEY}` } }) }
    : { status: 200, body: JSON.stringify({ session: { id: sessionIdOf(req.path), status: 'complete' } }) };

describe('herald replay --refresh-session', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  let dbFile: string;
  let port: number;
  let api: HttpSink;
  let sink: HttpSink;
  let stored: NormalizedEvent[];

  async function withStore<T>(read: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = new SqliteStore(dbFile);
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }

  beforeEach(async () => {
    api = await startHttpSink(facesign);
    sink = await startHttpSink();
    dir = tempDir();
    dbFile = path.join(dir, 'herald.db');
    port = await freePort();
    config = writeHookConfig(dir, port, sink.url);
    // The source with its API section: the webhook secret from a variable the commands on the store need not have.
    const text = readFileSync(config, 'utf8').replace(
      /^ {2}facesign: .*$/m,
      `  facesign: { provider: facesign, secrets: ["\${FACESIGN_WEBHOOK_SECRET}"], api: { url: "${api.url}", key: "\${FACESIGN_API_KEY}", rate: 100/s, allowPrivateNetwork: true } }`,
    );
    writeFileSync(config, text);
    const inProgress = { session: { id: 'x', status: 'inProgress' }, enrichment: { fetchedAt: '2026-01-01T00:00:00.000Z', attempts: 1, error: null } };
    stored = [
      event('facesign', { subject: 'sess_ok', ...inProgress }),
      event('facesign', { subject: 'sess_ok', type: 'analysis.video', category: 'analysis', ...inProgress }),
      event('facesign', { subject: 'sess_bad', ...inProgress }),
    ];
    await withStore(async (store) => {
      await store.migrate();
      for (const e of stored) await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await store.markRouted(stored.map((e) => ({ eventId: e.id, rulesVersion: 'v0', deliveries: [] })));
    });
  });
  afterEach(async () => {
    await api.close();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the store holds now: each event's session status, and the status its new deliveries were rendered with. */
  const statuses = () =>
    withStore(async (store) =>
      Promise.all(
        stored.map(async (e) => ({
          stored: (await store.getEvent(e.id))!.session!.status,
          delivered: (await store.listDeliveries({ eventId: e.id })).map(
            (d) => ((d.message as { body: { data: NormalizedEvent } }).body.data.session as { status: string }).status,
          ),
        })),
      ),
    );

  it('on the store: fetches each session once, routes and stores the fresh one, reports the failure without the key', async () => {
    const result = await runHerald(['--config', config, 'replay', '--since', SINCE, '--refresh-session'], {
      HERALD_API_URL: undefined,
      FACESIGN_API_KEY: API_KEY,
      FACESIGN_WEBHOOK_SECRET: undefined,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^3 events replayed: 3 deliveries created\n/);
    assert.match(result.stdout, /1 session fetched again from FaceSign\n1 could not be; their events were replayed with the session stored:\n/);
    assert.match(result.stdout, /facesign +sess_bad +1 +the FaceSign API answered HTTP 500 api_error/);
    assert.ok(!result.stdout.includes(API_KEY) && !result.stderr.includes(API_KEY));
    assert.deepEqual(api.requests.map((r) => sessionIdOf(r.path)).sort(), ['sess_bad', 'sess_ok']);
    assert.ok(api.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`));
    assert.deepEqual(await statuses(), [
      { stored: 'complete', delivered: ['complete'] },
      { stored: 'complete', delivered: ['complete'] },
      { stored: 'inProgress', delivered: ['inProgress'] },
    ]);
    const [entry] = await withStore((store) => store.listAudit({ action: 'events.replay' }));
    assert.equal(entry!.detail!.refreshSession, true);
  });

  it('on the store: without the API key set, says which variable; without --refresh-session, needs none and calls nobody', async () => {
    const env = { HERALD_API_URL: undefined, FACESIGN_API_KEY: undefined, FACESIGN_WEBHOOK_SECRET: undefined };
    const missing = await runHerald(['--config', config, 'replay', '--since', SINCE, '--refresh-session', '--dry-run'], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /sources\.facesign\.api\.key.*FACESIGN_API_KEY is not set/);
    const plain = await runHerald(['--config', config, 'replay', '--since', SINCE, '--json'], env);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(JSON.parse(plain.stdout), {
      dryRun: false,
      events: 3,
      deliveries: 3,
      byRule: { 'everything-to-hook': 3 },
      batched: 0,
      batchedByRule: {},
      notRouted: 0,
    });
    assert.equal(api.requests.length, 0);
    assert.deepEqual(
      (await statuses()).map((s) => s.delivered),
      [['inProgress'], ['inProgress'], ['inProgress']],
    );
  });

  it('through a running herald (--api): the same, in JSON; a dry run fetches and stores nothing', async () => {
    const herald = await serveHerald(['--config', config], port, {
      HERALD_ADMIN_TOKEN: TOKEN,
      FACESIGN_API_KEY: API_KEY,
      FACESIGN_WEBHOOK_SECRET: 'whsec-not-used',
    });
    try {
      const viaApi = (...args: string[]) =>
        runHerald(['--config', '/nonexistent/herald.config.yaml', 'replay', '--since', SINCE, '--refresh-session', '--json', ...args, '--api', herald.url], {
          HERALD_ADMIN_TOKEN: TOKEN,
        });
      const dry = await viaApi('--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(api.requests.length, 2);
      assert.deepEqual(JSON.parse(dry.stdout).sessions.refreshed, 1);
      assert.deepEqual(
        (await statuses()).map((s) => s.stored),
        ['inProgress', 'inProgress', 'inProgress'],
        'a dry run stores nothing',
      );

      const result = await viaApi();
      assert.equal(result.code, 0, result.stderr);
      const summary = JSON.parse(result.stdout) as {
        events: number;
        sessions: { refreshed: number; failed: Array<{ sessionId: string; eventIds: string[]; error: string }> };
      };
      assert.equal(summary.events, 3);
      assert.equal(summary.sessions.refreshed, 1);
      assert.deepEqual(summary.sessions.failed, [
        { source: 'facesign', sessionId: 'sess_bad', eventIds: [stored[2]!.id], error: 'the FaceSign API answered HTTP 500 api_error' },
      ]);
      assert.ok(!result.stdout.includes(API_KEY));
      assert.equal(api.requests.length, 4, 'one call per session and replay');
      assert.deepEqual(
        (await statuses()).map((s) => s.stored),
        ['complete', 'complete', 'inProgress'],
      );
    } finally {
      herald.child.kill('SIGTERM');
      await herald.exited;
    }
  });
});
