/**
 * Encryption at rest and erasure as a user meets them, on both stores: the
 * built CLI and `herald serve` as child processes, a FaceSign webhook carrying
 * a marker, a receiver that echoes it. (The first herald, which only takes the
 * webhooks under the first key, runs in the test process on the same config
 * file: what it shows is about the store, not the process.) The store's bytes never hold the
 * marker; the admin API shows it; `herald keys rotate` moves everything to a
 * new key while herald serves, after which the old key can go, and a herald
 * with only the old key says which key it lacks; `herald erase` on the store
 * and DELETE /api/subjects/{id} remove one subject and nothing else, audited.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DataKeyring, generateDataKey, keyIdOf } from '../../src/core/sealing.js';
import { openStore } from '../../src/app/open-store.js';
import { loadSetup } from '../../src/app/setup.js';
import { startHerald, type RunningHerald } from '../../src/app/start-herald.js';
import { silentLogger } from '../../src/core/log.js';
import { loadSample } from '../../src/providers/samples.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { freePort, runHerald, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { testSource } from '../helpers/config.js';
import { settledDeliveries, signedRequest, tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';
import { event } from '../store/contract.js';

const TOKEN = 'at-rest-token-Hq31';
const MARKER = 'Evidence-Marker-5KpQ';
const K1 = generateDataKey();
const K2 = generateDataKey();
const idOf = (key: string) => keyIdOf(Buffer.from(key, 'base64'));

for (const storeKind of ['sqlite', 'postgres'] as const) {
  describe(`encryption at rest and erasure through herald: ${storeKind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`, function () {
    this.timeout(120_000);
    let dir: string;
    let config: string;
    let sink: HttpSink;
    let port: number;
    let schema: TestSchema | undefined;
    let herald: ServeProcess | undefined;
    /** The first herald, in this process. */
    let inProcess: RunningHerald | undefined;
    /** The serving herald's URL. */
    let url = '';
    /** The store's env: HERALD_STORE for PostgreSQL (the config names SQLite). */
    let storeEnv: NodeJS.ProcessEnv;

    /** Everything the store holds as bytes: the SQLite files, or every row of PostgreSQL's tables. */
    async function rawStore(): Promise<string> {
      if (!schema)
        return readdirSync(dir)
          .filter((f) => f.startsWith('herald.db'))
          .map((f) => readFileSync(path.join(dir, f)).toString('latin1'))
          .join('\n');
      const rows: string[] = [];
      for (const t of ['events', 'event_dedupe', 'deliveries', 'attempts', 'audit_log']) {
        rows.push(...(await schema.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM ${t} t`)).map((r) => r.row));
      }
      return rows.join('\n');
    }

    const serve = async (keys: NodeJS.ProcessEnv) => {
      herald = await serveHerald(['--config', config], port, { HERALD_ADMIN_TOKEN: TOKEN, ...storeEnv, ...keys });
      url = herald.url;
    };
    /** Serves as `herald serve --config <config>` with `key` would, in this process. */
    const serveInProcess = async (key: string) => {
      const setup = loadSetup(config, { ...process.env, ...storeEnv });
      inProcess = await startHerald(setup, silentLogger(), { dataKeys: new DataKeyring(Buffer.from(key, 'base64')), adminToken: TOKEN });
      url = `http://127.0.0.1:${inProcess.port}`;
    };
    const stop = async () => {
      await inProcess?.close();
      inProcess = undefined;
      herald?.child.kill('SIGTERM');
      await herald?.exited;
      herald = undefined;
    };
    const cli = (args: string[], env: NodeJS.ProcessEnv) => runHerald(['--config', config, ...args], { HERALD_API_URL: undefined, ...storeEnv, ...env });
    const api = async (route: string, init: RequestInit = {}) => {
      const reply = await fetch(`${url}/api/${route}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, 'x-herald-actor': 'dpo@example' } });
      return { status: reply.status, body: (await reply.json()) as Record<string, unknown> };
    };

    /** Posts FaceSign events about `subjects` (one each) with the marker in their payloads to the herald served in this process; returns herald's event ids once all are delivered and recorded. */
    async function post(subjects: string[]): Promise<string[]> {
      const before = sink.requests.length;
      const providerIds = await Promise.all(
        subjects.map(async (subject, n) => {
          const payload = {
            ...(PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()) as Record<string, unknown>),
            id: `evt_${subject}_${n}`,
            sessionId: subject,
            note: MARKER,
          };
          const { body, headers } = signedRequest(testSource('facesign', 'facesign'), payload);
          const reply = await fetch(`${url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
          assert.equal(reply.status, 200);
          return payload.id;
        }),
      );
      await sink.waitFor(before + subjects.length);
      // The sink has the requests; the deliver thread records their answers a moment later.
      await settledDeliveries(inProcess!.store, before + subjects.length);
      const { events } = (await api('events')).body as { events: Array<{ id: string; providerEventId: string }> };
      return providerIds.map((providerId) => events.find((e) => e.providerEventId === providerId)!.id);
    }

    before(async () => {
      dir = tempDir();
      // The receiver echoes the marker it got: the response excerpt carries it too.
      sink = await startHttpSink((request) => ({ status: 200, body: request.body.includes(MARKER) ? `got ${MARKER}` : 'got nothing' }));
      port = await freePort();
      config = writeHookConfig(dir, port, sink.url, 'alerts: { enabled: false }');
      if (storeKind === 'postgres') schema = await createTestSchema();
      storeEnv = schema ? { HERALD_STORE: schema.url } : {};
    });
    after(async () => {
      await stop();
      await sink?.close();
      await schema?.drop();
    });

    it('keeps payloads sealed, rotates keys while serving, and erases a subject on the store and through the API', async () => {
      await serveInProcess(K1);
      const [a1, a2, b1, c1] = await post(['sess_a', 'sess_a', 'sess_b', 'sess_c']);
      const ids = { a: [a1!, a2!], b: [b1!], c: [c1!] };
      assert.ok(
        sink.requests.every((r) => r.body.includes(MARKER)),
        'the receiver got the marker',
      );
      assert.ok(!(await rawStore()).includes(MARKER), 'the store holds no payload value as it is');
      const shown = await api(`events/${ids.c[0]}?pii=include`);
      assert.equal(shown.status, 200);
      assert.equal((shown.body.event as { data: { note: string } }).data.note, MARKER, 'the admin API shows the payload');
      const [firstDelivery] = shown.body.deliveries as Array<{ attempts: Array<{ responseExcerpt: string }> }>;
      assert.ok(firstDelivery!.attempts[0]!.responseExcerpt.includes(MARKER));
      await stop();

      // A new key: herald serves with it (the old one still opens), and rotation runs beside it.
      await serve({ HERALD_DATA_KEY: K2, HERALD_DATA_KEYS_OLD: K1 });
      const rotated = await cli(['keys', 'rotate', '--json'], { HERALD_DATA_KEY: K2, HERALD_DATA_KEYS_OLD: K1 });
      assert.equal(rotated.code, 0, rotated.stderr);
      const report = JSON.parse(rotated.stdout) as { keyId: string; events: number; resealed: Record<string, number> };
      assert.equal(report.keyId, idOf(K2));
      assert.equal(report.events, 4);
      assert.deepEqual(report.resealed, { events: 4, messages: 4, excerpts: 4, media: 0 });
      assert.ok(!(await rawStore()).includes(MARKER));

      // Erasure on the store, first as a dry run.
      const dry = await cli(['erase', '--subject', 'sess_a', '--dry-run', '--json'], { HERALD_DATA_KEY: K2 });
      assert.equal(dry.code, 0, dry.stderr);
      const counts = { events: 2, deliveries: 2, attempts: 2, dedupeKeys: 2, media: 0 };
      assert.deepEqual(JSON.parse(dry.stdout), { subject: 'sess_a', dryRun: true, removed: counts });
      const erased = await cli(['erase', '--subject', 'sess_a'], { HERALD_DATA_KEY: K2, HERALD_ACTOR: 'dpo@example' });
      assert.equal(erased.code, 0, erased.stderr);
      assert.match(erased.stdout, /removed for subject sess_a/);
      assert.match(erased.stdout, /events\s+2/);
      // And through the admin API.
      const viaApi = await api('subjects/sess_b', { method: 'DELETE' });
      assert.equal(viaApi.status, 200);
      assert.deepEqual(viaApi.body, { subject: 'sess_b', dryRun: false, removed: { events: 1, deliveries: 1, attempts: 1, dedupeKeys: 1, media: 0 } });
      const throughCli = await cli(['erase', '--subject', 'sess_b', '--api', herald!.url, '--json'], {
        HERALD_ADMIN_TOKEN: TOKEN,
        HERALD_ACTOR: 'dpo@example',
      });
      assert.deepEqual(
        JSON.parse(throughCli.stdout).removed,
        { events: 0, deliveries: 0, attempts: 0, dedupeKeys: 0, media: 0 },
        'erasing again removes nothing',
      );
      for (const id of [...ids.a, ...ids.b]) assert.equal((await api(`events/${id}`)).status, 404);
      const kept = await api(`events/${ids.c[0]}?pii=include`);
      assert.equal((kept.body.event as { data: { note: string } }).data.note, MARKER, 'another subject is untouched');
      const audit = (await api('audit?action=subject.erase')).body.entries as Array<{
        actor: string;
        target: string;
        detail: { via: string; removed: unknown };
      }>;
      assert.deepEqual(
        audit.map((e) => [e.target, e.actor, e.detail.via]),
        [
          ['sess_a', 'dpo@example', 'cli'],
          ['sess_b', 'dpo@example', 'api'],
          ['sess_b', 'dpo@example', 'api'],
        ],
      );
      assert.deepEqual(audit[0]!.detail.removed, counts);
      await stop();
      assert.ok(!(await rawStore()).includes(`hs1:${idOf(K1)}`), 'nothing is left under the old key');

      // The old key is no longer needed; the old key alone cannot read the store, and says which key it lacks.
      const withNew = await cli(['events', 'show', ids.c[0]!, '--pii', '--json'], { HERALD_DATA_KEY: K2 });
      assert.equal(withNew.code, 0, withNew.stderr);
      assert.equal(JSON.parse(withNew.stdout).event.data.note, MARKER);
      const withOld = await cli(['events', 'show', ids.c[0]!, '--pii'], { HERALD_DATA_KEY: K1 });
      assert.equal(withOld.code, 3);
      assert.match(withOld.stderr, new RegExp(`^herald: stored data is sealed with data key ${idOf(K2)}, which this herald does not have`));
      for (const key of [K1, K2]) assert.ok(!withOld.stderr.includes(key));
      // A herald serving with the wrong key keeps serving: its API says which key it lacks, and so does its log
      // for an event waiting to be routed, which it tries again (every second), never crashing.
      const store = await openStore(schema ? schema.url : `sqlite:${path.join(dir, 'herald.db')}`, { keys: new DataKeyring(Buffer.from(K2, 'base64')) });
      await store.insertEvent({
        event: event('facesign', { subject: 'sess_d', data: { note: MARKER } }),
        dedupeKey: 'unrouted',
        dedupeUntilMs: Date.now() + 60_000,
      });
      await store.close();
      // Pretty log lines are written at once (JSON lines are flushed about every second): the two tries show up a second apart.
      herald = await serveHerald(
        ['--config', config],
        port,
        { HERALD_ADMIN_TOKEN: TOKEN, ...storeEnv, HERALD_DATA_KEY: K1, HERALD_LOG_FORMAT: 'pretty' },
        { captureStdout: true },
      );
      url = herald.url;
      const refused = await api(`events/${ids.c[0]}`);
      assert.equal(refused.status, 500);
      assert.match(refused.body.error as string, new RegExp(`sealed with data key ${idOf(K2)}`));
      await waitUntil(() => herald!.stdout().split(`sealed with data key ${idOf(K2)}`).length > 2, 20_000, 'the routing error, logged twice');
      assert.equal(herald.child.exitCode, null, 'herald keeps running');
      assert.equal((await api('health')).status, 200);
      for (const key of [K1, K2]) assert.ok(!herald.stdout().includes(key) && !herald.stderr().includes(key), 'no key in the logs');
    });
  });
}
