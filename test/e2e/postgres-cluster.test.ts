/**
 * Several herald processes sharing one PostgreSQL schema, as users run them
 * behind a load balancer: the built CLI, three `herald serve` processes, signed
 * events sent to each in turn (duplicates to a different process at the same
 * moment), and an HTTP sink that records when each webhook-id arrived and was
 * answered. The three start together on a schema that does not exist yet (the
 * first test), then take the load (the second): one process is killed with
 * SIGKILL mid-run; its claimed deliveries must be taken over (how fast:
 * postgres-takeover.test.ts). Needs PostgreSQL: see test/helpers/postgres.ts.
 *
 * HERALD_CLUSTER_EVENTS sets how many requests are sent (default 300, of
 * which 10% are duplicates: the sink answers each send after 20 ms, so that
 * sends, and their claims, are in flight at the kill; the load itself is the
 * benchmark's: bench/); HERALD_TEST_VERBOSE=1 prints the timings.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { SHIPPED_TEMPLATES_DIR, TEST_SECRETS, testSource } from '../helpers/config.js';
import { freePort, killAll, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { overlapping, startVisitSink, waitUntil, type Visit, type VisitSink } from '../helpers/sinks.js';

const REQUESTS = Number(process.env.HERALD_CLUSTER_EVENTS ?? 300);
/** How long the sink takes to answer a send: the victim's sends, and their claims, stay in flight a while. */
const SINK_PAUSE_MS = 20;
const DUPLICATE_EVERY = 10; // every 10th request repeats an event, sent to another process
const SENDERS = 48;
const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/**
 * The deliver stage's claim TTL is 2 × timeout + 30 s (src/pipeline/stages/deliver.ts): 36 s here. Not
 * shorter: on a loaded machine a 1 s time-out cut sends the sink had not yet seen end, which looked
 * like overlapping sends.
 */
const DELIVERY_TIMEOUT = '3s';
const verbose = process.env.HERALD_TEST_VERBOSE === '1';

/** Process `index`'s config: it sends to the sink's path /p<index>, so the sink knows which process sent what. */
function writeConfig(file: string, port: number, store: string, sinkUrl: string, index: number): void {
  writeFileSync(
    file,
    [
      `server: { port: ${port}, host: 127.0.0.1 }`,
      `store: ${JSON.stringify(store)}`,
      `rules: ${JSON.stringify(ONE_WEBHOOK_RULE)}`,
      `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
      'sources:',
      `  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }`,
      'destinations:',
      `  hook: { type: webhook, url: "${sinkUrl}/p${index}", secret: "${WEBHOOK_SECRET}", format: standard, allowPrivateNetwork: true, concurrency: 32 }`,
      `delivery: { timeout: ${DELIVERY_TIMEOUT}, retry: [1s, 2s, 5s, 10s] }`,
      // Under this load a few time-outs in a row can open the breaker, whose alert would be one more
      // event and delivery than the counts below expect; alerts have their own tests (test/e2e/alerts.test.ts).
      'alerts: { enabled: false }',
      '',
    ].join('\n'),
  );
}

/** Posts with keep-alive; resolves with the status and body, rejects on a network error. */
const agent = new http.Agent({ keepAlive: true, maxSockets: SENDERS });
function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('PostgreSQL: several herald processes sharing one schema', function () {
  this.timeout(150_000);
  const source = testSource('facesign', 'facesign');
  let dir: string;
  let db: TestSchema;
  let sink: VisitSink;
  let heralds: ServeProcess[] = [];
  /** The events the first test sent: the second counts them among those stored and delivered. */
  const earlierIds = new Set<string>();

  // One schema and three processes for both tests: a process start is a second of CPU.
  before(async () => {
    dir = tempDir();
    sink = await startVisitSink(SINK_PAUSE_MS);
    db = await createTestSchema({ create: false });
    heralds = await startHeralds(3, db.url);
  });
  after(async () => {
    await killAll(heralds);
    heralds = [];
    await sink?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startHeralds(count: number, store: string): Promise<ServeProcess[]> {
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    return Promise.all(
      ports.map((port, i) => {
        const file = path.join(dir, `herald-${i}.config.yaml`);
        writeConfig(file, port, store, sink.url, i);
        return serveHerald(['--config', file], port);
      }),
    );
  }

  it('migrates an empty database once when the processes start at the same instant, and each serves', async () => {
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => r.version),
      POSTGRES_MIGRATIONS.map((_, i) => i + 1),
    );
    for (const herald of heralds) {
      const payload = PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now());
      const { body, headers } = signedRequest(source, payload);
      assert.equal((await post(`${herald.url}/webhooks/facesign`, body, headers)).status, 200);
      earlierIds.add(String(payload.id));
    }
    await waitUntil(() => sink.visits.length >= heralds.length, 15_000, 'every event delivered');
  });

  it('stores each event once and sends each delivery from one process at a time, even when one is killed', async () => {
    const started = performance.now();
    const sample = loadSample('facesign', 'session.status');
    const alive = new Set(heralds.keys());
    const victim = 2;

    // The requests: every DUPLICATE_EVERY-th repeats the previous event and goes, at the same moment, to another process.
    const payloads: Array<Record<string, unknown>> = [];
    const plan: Array<{ payload: Record<string, unknown>; target: number; together: boolean }> = [];
    for (let i = 0; plan.length < REQUESTS; i++) {
      const payload = PROVIDERS.facesign.freshenSample(sample, Date.now());
      payloads.push(payload);
      plan.push({ payload, target: i % 3, together: false });
      if (payloads.length % (DUPLICATE_EVERY - 1) === 0 && plan.length < REQUESTS) {
        plan.push({ payload, target: (i + 1) % 3, together: true });
      }
    }
    const uniqueIds = new Set(payloads.map((p) => String(p.id)));
    const expectedIds = new Set([...earlierIds, ...uniqueIds]);
    const answers = new Map<string, string[]>(); // event id -> the statuses herald answered ("accepted" | "duplicate")

    /** Sends one request, to its process or, when that one is down, to the next one alive: what a load balancer does. */
    async function sendEvent(payload: Record<string, unknown>, target: number): Promise<void> {
      for (let tries = 0; ; tries++) {
        const index = alive.has(target) ? target : [...alive][tries % alive.size]!;
        const { body, headers } = signedRequest(source, payload);
        try {
          const reply = await post(`${heralds[index]!.url}/webhooks/facesign`, body, headers);
          if (reply.status === 200) {
            const id = String(payload.id);
            answers.set(id, [...(answers.get(id) ?? []), (JSON.parse(reply.body) as { status: string }).status]);
            return;
          }
          assert.equal(reply.status, 503, `unexpected reply ${reply.status} ${reply.body}`);
        } catch (error) {
          if (error instanceof assert.AssertionError) throw error;
          // The process was killed under this request: the provider retries, elsewhere.
        }
        target = (target + 1) % 3;
        if (tries > 20) throw new Error(`event ${String(payload.id)} was never accepted`);
      }
    }

    let next = 0;
    let acknowledged = 0;
    let orphans: Array<{ id: string; claim_expires_at: number }> | undefined;
    let diedAt = 0;
    const killWhenLoaded = async () => {
      // Kill the victim when it holds claims on deliveries, so that some are left to take over.
      const pid = heralds[victim]!.child.pid!;
      const claimedByVictim = () =>
        db.query<{ id: string; claim_expires_at: number }>(
          `SELECT id, claim_expires_at::float8 AS claim_expires_at FROM deliveries WHERE status = 'pending' AND claimed_by LIKE $1`,
          [`%:${pid}:%`],
        );
      await waitUntil(() => acknowledged >= REQUESTS / 3, 60_000, 'a third of the events acknowledged');
      const deadline = Date.now() + 20_000;
      let claimed: Array<{ id: string; claim_expires_at: number }>;
      while ((claimed = await claimedByVictim()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      heralds[victim]!.child.kill('SIGKILL');
      // The victim runs no more code from here. Not when its exit is read: a busy test process read it 200 ms
      // later, after the others had taken over its claims and sent, and their sends looked like overlaps.
      diedAt = performance.now();
      alive.delete(victim);
      await heralds[victim]!.exited;
      // The others release a dead process's claims within a second: read after the kill, they may be gone already.
      const left = await claimedByVictim();
      orphans = left.length > 0 ? left : claimed;
    };
    const killing = killWhenLoaded();
    const sender = async () => {
      while (next < plan.length) {
        const request = plan[next++]!;
        const following = plan[next]?.together ? plan[next++] : undefined;
        await Promise.all([request, following].filter((r) => r !== undefined).map((r) => sendEvent(r.payload, r.target)));
        acknowledged += following ? 2 : 1;
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, sender));
    const sent = performance.now();
    await killing;

    // Every unique event stored once, whichever process got it and however often.
    const stored = await db.query<{ provider_event_id: string; n: number }>(
      'SELECT provider_event_id, count(*)::int AS n FROM events GROUP BY provider_event_id',
    );
    assert.equal(stored.length, expectedIds.size);
    assert.deepEqual(
      stored.filter((r) => r.n !== 1),
      [],
    );
    assert.ok(stored.every((r) => expectedIds.has(r.provider_event_id)));
    for (const [id, statuses] of answers) {
      assert.ok(statuses.filter((s) => s === 'accepted').length <= 1, `event ${id} was accepted twice: ${statuses.join(', ')}`);
    }

    // Every delivery is made, the victim's claimed ones included.
    assert.ok(orphans && orphans.length > 0, 'the killed process held no claims: nothing was taken over');
    const deadline = Date.now() + 90_000;
    const delivered = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE status = 'delivered'`))[0]!.n;
    while ((await delivered()) < expectedIds.size) {
      assert.ok(Date.now() < deadline, `only ${await delivered()} of ${expectedIds.size} deliveries delivered after 90 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const finished = performance.now();
    const deliveries = await db.query<{ id: string; status: string }>('SELECT id, status FROM deliveries');
    assert.equal(deliveries.length, expectedIds.size, 'one delivery per event');
    const arrived = new Set(sink.visits.map((v) => v.id));
    assert.deepEqual(
      deliveries.filter((d) => !arrived.has(d.id)),
      [],
      'deliveries that never reached the sink',
    );
    const takenOver = await db.query<{ delivery_id: string; started_at: number }>(
      `SELECT delivery_id, started_at::float8 AS started_at FROM attempts WHERE outcome = 'delivered' AND delivery_id = ANY($1)`,
      [orphans.map((o) => o.id)],
    );
    assert.equal(takenOver.length, orphans.length);

    // No webhook-id was in flight twice at once.
    const byId = new Map<string, Visit[]>();
    for (const visit of sink.visits) byId.set(visit.id, [...(byId.get(visit.id) ?? []), visit]);
    const overlaps: string[] = [];
    const dead = { path: `/p${victim}`, diedAt };
    for (const [id, visits] of byId) {
      if (visits.some((a, i) => visits.slice(i + 1).some((b) => overlapping(a, b, dead)))) overlaps.push(id);
    }
    if (overlaps.length > 0) {
      // Who sent what when (ms from the victim's death), and what herald recorded: enough to tell a double claim from a slow sink.
      const attempts = await db.query(
        'SELECT delivery_id, attempt, started_at::float8 - $2::float8 AS started, duration_ms, outcome, status, error FROM attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt',
        [overlaps, Date.now() - (performance.now() - diedAt)],
      );
      const seen = overlaps.map((id) => ({
        id,
        visits: byId.get(id)!.map((v) => ({ from: v.path, arrived: Math.round(v.arrived - diedAt), ended: Math.round(v.ended - diedAt) })),
      }));
      assert.fail(`webhook-ids sent while an earlier send of theirs was still in flight (victim: /p${victim}): ${JSON.stringify({ seen, attempts })}`);
    }

    if (verbose) {
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(
        `      ${REQUESTS} requests (${uniqueIds.size} unique events) sent in ${s(sent - started)} ` +
          `(${Math.round(REQUESTS / ((sent - started) / 1000))}/s), all delivered after ${s(finished - started)}; ` +
          `${orphans.length} claims taken over; ${sink.visits.length - expectedIds.size} sends repeated after the kill`,
      );
    }
  });
});
