/**
 * Batches are durable and shared (issue 17, item 4): an open group survives
 * `kill -9` and goes out once at start-up when its wait passed meanwhile; with
 * three `herald serve` processes on one PostgreSQL schema, each group is sent
 * exactly once. Real processes, real HTTP, a real sink. A group's wait is an
 * hour and the test brings its due time forward in the store (as the wait
 * passing would): no test waits out a wait in real time.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { TEST_SECRETS, testSource } from '../helpers/config.js';
import { freePort, killAll, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/batching');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** One message per FaceSign session, an hour after its first event (brought forward by the tests), then at most one every ten minutes. */
const RULES = `- name: per-session
  group: { by: [subject], wait: 1h, interval: 10m }
  notify: [{ to: hook, template: group-summary }]
`;

/** Writes `file` and, in rules/ beside it, the rules it names. */
function writeConfig(file: string, port: number, store: string, sinkUrl: string): void {
  const rules = path.join(path.dirname(file), 'rules');
  mkdirSync(rules, { recursive: true });
  writeFileSync(path.join(rules, 'rules.yaml'), RULES);
  writeFileSync(
    file,
    [
      `server: { port: ${port}, host: 127.0.0.1 }`,
      `store: ${JSON.stringify(store)}`,
      `rules: ${JSON.stringify(rules)}`,
      `templates: ${JSON.stringify(path.join(FIXTURES, 'templates'))}`,
      'sources:',
      `  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }`,
      'destinations:',
      `  hook: { type: webhook, url: "${sinkUrl}/hook", secret: "${SECRET}", allowPrivateNetwork: true }`,
      'alerts: { enabled: false }',
      '',
    ].join('\n'),
  );
}

/** A FaceSign session.status event about `session`, signed; returns its provider event id. */
async function sendEvent(url: string, session: string): Promise<string> {
  const source = testSource('facesign', 'facesign');
  const payload: Record<string, unknown> = { ...PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()), sessionId: session };
  const { body, headers } = signedRequest(source, payload);
  const response = await fetch(`${url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
  assert.equal(response.status, 200, await response.text());
  return String(payload.id);
}

interface Summary {
  key: string;
  count: number;
}
const summaries = (sink: HttpSink) => sink.requests.map((r) => (JSON.parse(r.body) as { data: Summary }).data);

describe('batches survive kill -9 and are sent once by a cluster', function () {
  this.timeout(120_000);
  let dir: string;
  let sink: HttpSink;
  let heralds: ServeProcess[] = [];
  let schema: TestSchema | undefined;

  beforeEach(async () => {
    dir = tempDir();
    sink = await startHttpSink();
  });
  afterEach(async () => {
    await killAll(heralds);
    heralds = [];
    await sink.close();
    await schema?.drop();
    schema = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a group that was open at kill -9 once, at start-up, when its wait passed while herald was down', async () => {
    const port = await freePort();
    const file = path.join(dir, 'herald.config.yaml');
    writeConfig(file, port, 'sqlite:./herald.db', sink.url);
    const first = await serveHerald(['--config', file], port);
    heralds.push(first);
    for (let i = 0; i < 5; i++) await sendEvent(first.url, 'sess_kill');
    const db = new Database(path.join(dir, 'herald.db'));
    try {
      const open = () => db.prepare("SELECT pending, due_at FROM batches WHERE rule = 'per-session'").get() as { pending: number; due_at: number } | undefined;
      await waitUntil(() => open()?.pending === 5, 10_000, 'the five events to join their group');
      first.child.kill('SIGKILL');
      await first.exited;
      assert.equal(sink.requests.length, 0, 'killed before the group was due');
      assert.ok(open()!.due_at > Date.now() + 30 * 60_000, 'the group waits its hour');
      // The wait passes while herald is down.
      db.prepare("UPDATE batches SET due_at = ? WHERE rule = 'per-session'").run(Date.now() - 1);
    } finally {
      db.close();
    }

    const second = await serveHerald(['--config', file], port);
    heralds.push(second);
    await waitUntil(() => sink.requests.length >= 1, 15_000, 'the group to be sent at start-up');
    assert.deepEqual(
      summaries(sink).map((s) => [s.key, s.count]),
      [['sess_kill', 5]],
    );
    // Stopped once the group is out: it went out once, not again by the stopping process.
    second.child.kill('SIGTERM');
    await second.exited;
    assert.equal(sink.requests.length, 1, 'sent once');
  });

  it('sends each group once with three processes on PostgreSQL', async () => {
    const db = (schema = await createTestSchema());
    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    heralds = await Promise.all(
      ports.map((port, i) => {
        const file = path.join(dir, `herald-${i}.config.yaml`);
        writeConfig(file, port, db.url, sink.url);
        return serveHerald(['--config', file], port);
      }),
    );
    // Enough groups, all due at once, that each process's claim holds several while the others look.
    const sessions = Array.from({ length: 30 }, (_, i) => `sess_${String(i).padStart(2, '0')}`);
    const perSession = 3;
    // Every session's events go to every process, interleaved, at once.
    await Promise.all(sessions.flatMap((session) => Array.from({ length: perSession }, (_, i) => sendEvent(heralds[i % 3]!.url, session))));
    await waitUntil(
      async () => {
        const rows = await db.query<{ groups: number; pending: number }>(
          "SELECT count(*)::int AS groups, coalesce(sum(pending), 0)::int AS pending FROM batches WHERE rule = 'per-session' AND due_at IS NOT NULL",
        );
        return rows[0]!.groups === sessions.length && rows[0]!.pending === sessions.length * perSession;
      },
      15_000,
      'every event to join its group',
    );
    assert.equal(sink.requests.length, 0, 'no group is due before its wait');
    // Every group's wait passes at the same moment.
    await db.query("UPDATE batches SET due_at = $1 WHERE rule = 'per-session'", [Date.now()]);
    await waitUntil(() => sink.requests.length >= sessions.length, 30_000, 'one message per session');
    // Each group's due time has passed for every process (they poll every second): a second send would have come by now.
    await waitUntil(
      async () => {
        const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM batches WHERE due_at IS NOT NULL OR claimed_by IS NOT NULL');
        return rows[0]!.n === 0;
      },
      10_000,
      'every batch to be completed',
    );
    const delivered = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM deliveries WHERE rule = 'per-session'");
    assert.equal(delivered[0]!.n, sessions.length, 'one delivery per group in the store');
    const got = summaries(sink)
      .map((s) => [s.key, s.count])
      .sort();
    assert.deepEqual(
      got,
      sessions.map((s) => [s, perSession]),
    );
  });
});
