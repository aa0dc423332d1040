/**
 * The enrich stage against a stand-in for FaceSign's session API (a real HTTP
 * server on 127.0.0.1), with webhooks taken in by the real ingest and stored
 * in a real SQLite store; the clock is injected, so retries and the give-up
 * bound are stepped through, not waited for.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { SessionApiClient } from '../../../src/channels/session-api.js';
import { testSource } from '../../helpers/config.js';
import { ENRICH_SETTLE_MS, EnrichStage } from '../../../src/pipeline/stages/enrich.js';
import type { MediaConfig, SessionApiConfig, SourceConfig } from '../../../src/core/config.js';
import { Ingest } from '../../../src/pipeline/stages/ingest.js';
import { PROVIDERS } from '../../../src/providers/registry.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { signedRequest } from '../../helpers/herald.js';
import { startHttpSink, type HttpSink, type Replier } from '../../helpers/sinks.js';
import { MediaDownloader } from '../../../src/channels/media-download.js';
import { MediaArchiver } from '../../../src/pipeline/stages/media-archive.js';
import { FolderMediaFiles } from '../../../src/store/media-files.js';
import { jpegBytes, startMediaHost, type MediaHost } from '../../helpers/media-host.js';

const API_KEY = 'sk_test_EnrichKEY93xQ';
const T0 = Date.parse('2026-12-03T09:00:00.000Z');
/** Sessions are first fetched this long after an event is received. */
const S = ENRICH_SETTLE_MS;

/** FaceSign's answer for a session in this status. */
const sessionAnswer = (id: string, status: string) => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ session: { id, status, settings: { clientReferenceId: 'cust-1' }, report: { isVerified: status === 'complete', lang: 'en' } } }),
});
const sessionIdOf = (path: string) => decodeURIComponent(path.split('/').at(-1)!);
const answersComplete: Replier = (req) => sessionAnswer(sessionIdOf(req.path), 'complete');

describe('enrich stage: FaceSign sessions fetched before routing', () => {
  let api: HttpSink;
  let store: SqliteStore;
  let now: number;
  let logLines: string[];
  let source: SourceConfig;
  let ingest: Ingest;
  let stage: EnrichStage;
  let seq: number;

  function setUp(reply: Replier, apiOverrides: Partial<SessionApiConfig> = {}) {
    api.reply = reply;
    source = testSource('facesign', 'facesign', {
      api: {
        url: `${api.url}/v1`,
        key: API_KEY,
        enrich: ['session.status', 'analysis.*'],
        timeoutMs: 2000,
        giveUpAfterMs: 30_000,
        rate: '100/s',
        allowPrivateNetwork: true,
        ...apiOverrides,
      },
    });
    const sources = { facesign: source };
    const logStream = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const log = pino({ level: 'trace' }, logStream);
    ingest = new Ingest({ sources: () => sources, providers: PROVIDERS, store, now: () => now });
    stage = new EnrichStage({ store, sources: () => sources, fetcher: (settings) => new SessionApiClient(settings), log, now: () => now });
  }

  /** Receives a signed FaceSign webhook of this type about this session; returns herald's event id. */
  async function receive(type: string, sessionId = 'sess_A'): Promise<string> {
    seq += 1;
    const payload = {
      id: `evt_${seq}`,
      type,
      createdAt: now,
      sessionId,
      ...(type.startsWith('media.') && {
        media: { id: 'm1', url: 'https://media.facesign.ai/m1.jpg', expires: now + 900_000, contentType: 'image/jpeg' },
      }),
    };
    const { body, headers } = signedRequest(source, payload, now);
    // As Node's HTTP server hands them over: names in lower case.
    const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const result = await ingest.receive('facesign', { body, headers: lowered });
    return result.id;
  }

  const stored = async (id: string) => (await store.getEvent(id))!;
  const routable = async () => (await store.unroutedEvents(100)).map((e) => e.id);

  beforeEach(async () => {
    api = await startHttpSink();
    store = new SqliteStore(':memory:');
    await store.migrate();
    now = T0;
    seq = 0;
    logLines = [];
  });

  afterEach(async () => {
    await stage.stop();
    await store.close();
    await api.close();
    // The key is sent to the API and nowhere else: no log line of any test holds it.
    for (const line of logLines) assert.ok(!line.includes(API_KEY), `the API key appears in a log line: ${line}`);
  });

  it('enriches each listed type (session.status, analysis.*) before it is routable, and leaves the others alone', async () => {
    setUp((req) => sessionAnswer(sessionIdOf(req.path), 'complete'));
    const listed = [
      await receive('session.status', 'sess_1'),
      await receive('analysis.video', 'sess_2'),
      await receive('analysis.screenshot', 'sess_3'),
      await receive('analysis.deepfake', 'sess_4'),
    ];
    const others = [await receive('media.user_photo', 'sess_5'), await receive('settings.langs', 'sess_6')];
    assert.deepEqual(await routable(), others, 'only the unlisted types are routable before enrichment');

    now = T0 + S - 1;
    assert.equal(await stage.enrichOnce(), 0, 'a burst of webhooks is given a moment to arrive');
    now = T0 + S;
    assert.equal(await stage.enrichOnce(), 4);
    assert.deepEqual((await routable()).sort(), [...listed, ...others].sort());
    assert.deepEqual(api.requests.map((r) => r.path).sort(), ['/v1/sessions/sess_1', '/v1/sessions/sess_2', '/v1/sessions/sess_3', '/v1/sessions/sess_4']);
    for (const request of api.requests) assert.equal(request.headers.authorization, `Bearer ${API_KEY}`);

    const status = await stored(listed[0]!);
    assert.deepEqual(status.session, { id: 'sess_1', status: 'complete', settings: { clientReferenceId: 'cust-1' }, report: { isVerified: true, lang: 'en' } });
    assert.deepEqual(status.enrichment, { fetchedAt: new Date(T0 + S).toISOString(), attempts: 1, error: null });
    assert.equal(status.outcome, 'completed', 'a session.status takes its outcome from the session');
    const deepfake = await stored(listed[3]!);
    assert.equal((deepfake.session as { id: string }).id, 'sess_4');
    assert.equal(deepfake.outcome, 'completed');
    for (const id of others) assert.equal((await stored(id)).session, undefined);
  });

  it('maps the session status to the outcome: created and inProgress started, incomplete abandoned, complete completed', async () => {
    const statuses: Record<string, string> = { s1: 'created', s2: 'inProgress', s3: 'incomplete', s4: 'complete', s5: 'archived' };
    setUp((req) => sessionAnswer(sessionIdOf(req.path), statuses[sessionIdOf(req.path)]!));
    const ids = [];
    for (const session of Object.keys(statuses)) ids.push(await receive('session.status', session));
    now += S;
    await stage.enrichOnce();
    const outcomes = await Promise.all(ids.map(async (id) => (await stored(id)).outcome));
    assert.deepEqual(outcomes, ['started', 'started', 'abandoned', 'completed', null]);
    assert.deepEqual(
      (await store.listEvents({ outcome: 'abandoned' })).map((e) => e.id),
      [ids[2]],
    );
  });

  it("costs one call for a session's five events within seconds, and calls again for an event received after the answer", async () => {
    setUp(answersComplete);
    // The stage runs every 250 ms while FaceSign sends five webhooks 300 ms apart.
    const types = ['session.status', 'analysis.video', 'analysis.screenshot', 'analysis.deepfake', 'session.status'];
    const burst: string[] = [];
    for (let step = 0; now <= T0 + 1200 + S + 250; step++, now = T0 + step * 50) {
      if (step % 6 === 0 && burst.length < types.length) burst.push(await receive(types[burst.length]!));
      if (step % 5 === 0) await stage.enrichOnce();
    }
    assert.equal(burst.length, 5);
    assert.equal(api.requests.length, 1);
    for (const id of burst) assert.equal(((await stored(id)).session as { status: string }).status, 'complete');
    assert.deepEqual((await routable()).sort(), [...burst].sort());

    // Received after the answer was fetched: the session may have changed since, so it is asked again.
    const later = await receive('session.status');
    now += S;
    await stage.enrichOnce();
    assert.equal(api.requests.length, 2);
    assert.equal((await stored(later)).enrichment!.fetchedAt, new Date(now).toISOString());
  });

  it("waits as a 429's Retry-After says, without calling meanwhile, then enriches", async () => {
    setUp((req, i) =>
      i === 0
        ? {
            status: 429,
            headers: { 'retry-after': '7', 'content-type': 'application/json' },
            body: '{"error":{"type":"rate_limit_error","message":"slow down"}}',
          }
        : answersComplete(req, i),
    );
    const first = await receive('session.status', 'sess_1');
    now = T0 + S;
    await stage.enrichOnce();
    assert.equal(api.requests.length, 1);
    assert.equal((await stored(first)).enrichment, undefined, 'nothing is recorded on the event until it is enriched or given up');
    // Another session's event, while the API asked to wait: held back, not sent to be refused too.
    now = T0 + S + 1000;
    const second = await receive('session.status', 'sess_2');
    now += S;
    assert.equal(await stage.enrichOnce(), 1);
    assert.equal(api.requests.length, 1);
    assert.deepEqual(await routable(), []);

    now = T0 + S + 6999;
    assert.equal(await stage.enrichOnce(), 0, 'no try is due before the Retry-After has passed');
    now = T0 + S + 7000;
    assert.equal(await stage.enrichOnce(), 2);
    assert.equal(api.requests.length, 3);
    assert.deepEqual((await routable()).sort(), [first, second].sort());
    assert.deepEqual((await stored(first)).enrichment, { fetchedAt: new Date(now).toISOString(), attempts: 2, error: null });
    assert.deepEqual((await stored(second)).enrichment, { fetchedAt: new Date(now).toISOString(), attempts: 2, error: null });
    assert.ok(
      logLines.some((line) => line.includes('HTTP 429 rate_limit_error')),
      'the retry is logged with its reason',
    );
  });

  it('keeps to api.rate: calls beyond it wait for their turn', async () => {
    setUp(answersComplete, { rate: '1/s' });
    const ids = [await receive('session.status', 's1'), await receive('session.status', 's2'), await receive('session.status', 's3')];
    const calls: number[] = [];
    for (now = T0 + S; (await routable()).length < 3; now += 100) {
      assert.ok(now < T0 + S + 10_000, 'all enriched within 10 s');
      await stage.enrichOnce();
      if (api.requests.length > calls.length) calls.push(now - T0 - S);
    }
    // One call a second: the first at once, each other held back and tried again a second later.
    assert.deepEqual(calls, [0, 1000, 2000]);
    assert.deepEqual((await routable()).sort(), [...ids].sort());
    assert.ok(logLines.some((line) => line.includes('held back by the rate limit set for the FaceSign API (api.rate)')));
  });

  it('routes the event anyway once the API has been down for giveUpAfter: session null and the error, never the key', async () => {
    setUp(answersComplete, { giveUpAfterMs: 20_000 });
    const url = api.url;
    await api.close();
    source.api!.url = `${url}/v1`; // nothing listens there any more: connection refused
    const id = await receive('session.status');
    const tried: number[] = [];
    while (!(await routable()).includes(id)) {
      assert.ok(now <= T0 + 20_000, 'routed by the bound');
      if ((await stage.enrichOnce()) > 0) tried.push(now - T0);
      now += 250;
    }
    // Backoff 1 s, 2 s, 4 s, 8 s: the next wait (16 s) would end after the bound, so the fifth try gives up.
    assert.deepEqual(tried, [S, S + 1000, S + 3000, S + 7000, S + 15_000]);
    const event = await stored(id);
    assert.equal(event.session, null);
    assert.equal(event.enrichment!.attempts, 5);
    assert.equal(event.enrichment!.fetchedAt, null);
    assert.match(event.enrichment!.error!, /^could not reach the FaceSign API: .*ECONNREFUSED/);
    assert.equal(event.outcome, null);
    api = await startHttpSink(); // for afterEach
  });

  it('gives up at once on an answer a retry cannot change (401), with the error type and without the key the API echoed', async () => {
    setUp(() => ({
      status: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ error: { type: 'authentication_error', message: `bad key ${API_KEY}` } }),
    }));
    const id = await receive('session.status');
    now += S;
    await stage.enrichOnce();
    const event = await stored(id);
    assert.deepEqual(await routable(), [id]);
    assert.equal(event.session, null);
    assert.equal(event.enrichment!.error, 'the FaceSign API answered HTTP 401 authentication_error');
    assert.ok(!JSON.stringify(event).includes(API_KEY));
  });

  it('refuses an API on a private address unless allowPrivateNetwork, routing the event with the reason', async () => {
    setUp(answersComplete, { allowPrivateNetwork: false });
    const id = await receive('session.status');
    now += S;
    await stage.enrichOnce();
    assert.equal(api.requests.length, 0);
    assert.deepEqual(await routable(), [id]);
    assert.match((await stored(id)).enrichment!.error!, /private or loopback address: set api\.allowPrivateNetwork: true/);
  });

  it('does not hold up events that need no enrichment while the API hangs; the hung try is retried', async () => {
    setUp(() => ({ status: 200, hang: true }), { timeoutMs: 300 });
    const waiting = await receive('session.status');
    const media = await receive('media.user_photo');
    now += S;
    const trying = stage.enrichOnce();
    await api.waitFor(1);
    assert.deepEqual(await routable(), [media]);
    await trying;
    assert.deepEqual(await routable(), [media]);
    assert.ok(logLines.some((line) => line.includes('did not answer within 300 ms')));
    api.reply = answersComplete;
    now += 1000;
    await stage.enrichOnce();
    assert.deepEqual((await routable()).sort(), [media, waiting].sort());
  });
});

describe('enrich stage: a media event waiting for its session and its archive', () => {
  let api: HttpSink;
  let host: MediaHost;
  let store: SqliteStore;
  let mediaDir: string;
  let now: number;
  let stage: EnrichStage;

  beforeEach(async () => {
    api = await startHttpSink();
    host = await startMediaHost(() => ({ bytes: jpegBytes(800), contentType: 'image/jpeg' }));
    store = new SqliteStore(':memory:');
    await store.migrate();
    mediaDir = mkdtempSync(path.join(tmpdir(), 'herald-enrich-media-'));
    now = T0;
  });

  afterEach(async () => {
    await stage.stop();
    await store.close();
    await api.close();
    await host.close();
    rmSync(mediaDir, { recursive: true, force: true });
  });

  /** The stage with a media archive in a folder, for `source`; and the ingest that feeds it, and the downloader to close. */
  function archivingStage(source: SourceConfig): { ingest: Ingest; downloader: MediaDownloader } {
    const media: MediaConfig = {
      store: { kind: 'folder', dir: mediaDir },
      maxBytes: 10_000,
      allowedHosts: ['127.0.0.1'],
      allowPrivateNetwork: true,
      linkTtlMs: 86_400_000,
      timeoutMs: 2000,
    };
    const downloader = new MediaDownloader(media);
    const archiver = new MediaArchiver({ store, files: new FolderMediaFiles(mediaDir), media, download: (url, at) => downloader.download(url, at) });
    const sources = { facesign: source };
    stage = new EnrichStage({
      store,
      sources: () => sources,
      fetcher: (settings) => new SessionApiClient(settings),
      log: pino({ level: 'silent' }),
      now: () => now,
      archiver,
    });
    return { ingest: new Ingest({ sources: () => sources, providers: PROVIDERS, store, now: () => now, media }), downloader };
  }

  it('keeps the archive done while the session is retried, and does not download again', async () => {
    let calls = 0;
    api.reply = (req) => (++calls === 1 ? { status: 503 } : sessionAnswer(sessionIdOf(req.path), 'complete'));
    const source = testSource('facesign', 'facesign', {
      api: { url: api.url, key: API_KEY, enrich: ['media.*'], timeoutMs: 2000, giveUpAfterMs: 30_000, rate: '100/s', allowPrivateNetwork: true },
    });
    const { ingest, downloader } = archivingStage(source);
    const payload = {
      id: 'evt_m',
      type: 'media.user_photo',
      createdAt: now,
      sessionId: 'sess_M',
      media: { id: 'm1', url: `${host.url}/m1.jpg`, expires: now + 900_000, contentType: 'image/jpeg' },
    };
    const { body, headers } = signedRequest(source, payload, now);
    const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
    const { id } = await ingest.receive('facesign', { body, headers: lowered });

    assert.equal(await stage.enrichOnce(), 1, 'a media event is due at once, not after the settling time');
    const halfway = (await store.getEvent(id))!;
    assert.equal(halfway.media!.archived!.bytes, 800);
    assert.equal(halfway.enrichment, undefined);
    assert.deepEqual(await store.unroutedEvents(10), [], 'still waiting for its session');

    now += 1000;
    assert.equal(await stage.enrichOnce(), 1);
    const done = (await store.getEvent(id))!;
    assert.equal((done.session as { status: string }).status, 'complete');
    assert.deepEqual(done.media!.archived, halfway.media!.archived, 'the archive of the first try');
    assert.equal(host.requests.length, 1, 'downloaded once');
    assert.deepEqual(
      (await store.unroutedEvents(10)).map((e) => e.id),
      [id],
    );
    await downloader.close();
  });

  it('archives the file of every media.* event with a media block, a type FaceSign has not documented too', async () => {
    const source = testSource('facesign', 'facesign');
    const { ingest, downloader } = archivingStage(source);
    const ids: string[] = [];
    for (const type of ['media.document_photo', 'media.selfie_photo']) {
      const payload = {
        id: `evt_${type}`,
        type,
        createdAt: now,
        sessionId: 'sess_M',
        media: { id: `m_${type}`, url: `${host.url}/${type}.jpg`, expires: now + 900_000, contentType: 'image/jpeg' },
      };
      const { body, headers } = signedRequest(source, payload, now);
      const lowered = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
      ids.push((await ingest.receive('facesign', { body, headers: lowered })).id);
    }
    assert.deepEqual(await store.unroutedEvents(10), [], 'both wait for their archive');
    assert.equal(await stage.enrichOnce(), 2);
    for (const id of ids) {
      const archived = (await store.getEvent(id))!.media!.archived!;
      assert.equal(archived.bytes, 800);
      assert.equal(archived.contentType, 'image/jpeg');
      assert.equal((await new FolderMediaFiles(mediaDir).get(id))!.length, 800);
    }
    assert.deepEqual([...host.requests].sort(), ['/media.document_photo.jpg', '/media.selfie_photo.jpg']);
    assert.deepEqual((await store.unroutedEvents(10)).map((e) => e.id).sort(), [...ids].sort());
    await downloader.close();
  });
});
