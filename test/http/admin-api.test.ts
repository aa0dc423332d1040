/**
 * The admin API against a real in-process herald: authentication, filtering
 * and pagination over 1,000 events, retry, replay and pause; every response
 * is checked against schema/openapi.json, and every route against it too.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { DestinationConfig } from '../../src/core/config.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { generateEd25519KeyPair, generateHmacSecret } from '../../src/core/signing-keys.js';
import { createAdminRouter, OPENAPI_FILE } from '../../src/http/admin-api.js';
import { loadSample } from '../../src/providers/samples.js';
import type { AuditEntry, Delivery } from '../../src/store/store.js';
import { SHIPPED_TEMPLATES_DIR, testSources } from '../helpers/config.js';
import { settledDeliveries, startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const TOKEN = 'admin-test-token-Qx81';
const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');
const BATCHING = path.join(PACKAGE_ROOT, 'test/fixtures/batching');

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses: Record<string, { $ref?: string }> }>>;
}
const openapi = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDoc;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(openapi, 'openapi.json');

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
/**
 * The documented path a concrete path matches, e.g. /api/events/{id} for
 * /api/events/0190...; a literal path wins over a template (/api/events/replay),
 * as OpenAPI matches them.
 */
function documentedPath(concrete: string): string | undefined {
  if (openapi.paths[concrete]) return concrete;
  return Object.keys(openapi.paths).find((template) => new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+').replaceAll('.', '\\.')}$`).test(concrete));
}

/** Asserts a response is documented for its route and status, and that its body fits the documented schema. */
function assertDocumented(method: string, url: string, status: number, body: unknown): void {
  const route = documentedPath(new URL(url, 'http://x').pathname);
  assert.ok(route, `${url} is not in the OpenAPI document`);
  const response = openapi.paths[route]![method.toLowerCase()]?.responses[String(status)];
  assert.ok(response, `${method} ${route} does not document status ${status}`);
  const at = response.$ref ?? `#/${pointer('paths', route, method.toLowerCase(), 'responses', String(status))}`;
  const validate = ajv.getSchema(`openapi.json${at}/${pointer('content', 'application/json', 'schema')}`);
  assert.ok(validate, `no schema for ${method} ${route} ${status}`);
  assert.ok(validate(body), `${method} ${url} ${status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
}

interface ApiReply<T> {
  status: number;
  body: T;
}

/** Calls the API with the test token (or `token`), and checks the reply against the document. */
async function api<T = Record<string, unknown>>(
  herald: TestHerald,
  method: string,
  url: string,
  body?: unknown,
  token: string | null = TOKEN,
  headers: Record<string, string> = {},
): Promise<ApiReply<T>> {
  const response = await fetch(`${herald.url}${url}`, {
    method,
    headers: { ...(token !== null && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await response.json()) as T;
  assertDocumented(method, url, response.status, json);
  return { status: response.status, body: json };
}

function hook(url: string): DestinationConfig {
  return {
    name: 'hook',
    type: 'webhook',
    options: { url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true, delivery: { retry: ['1s'] } },
  };
}

/** Sets HERALD_ADMIN_TOKEN (or removes it) for one block of tests, restoring what was there. */
function withAdminToken(token: string | undefined): void {
  let saved: string | undefined;
  let had = false;
  before(() => {
    had = 'HERALD_ADMIN_TOKEN' in process.env;
    saved = process.env.HERALD_ADMIN_TOKEN;
    if (token === undefined) delete process.env.HERALD_ADMIN_TOKEN;
    else process.env.HERALD_ADMIN_TOKEN = token;
  });
  after(() => {
    if (had) process.env.HERALD_ADMIN_TOKEN = saved;
    else delete process.env.HERALD_ADMIN_TOKEN;
  });
}

/** One request per documented route and method, with made-up ids. */
const EVERY_ROUTE: Array<[string, string]> = Object.entries(openapi.paths).flatMap(([route, methods]) =>
  Object.keys(methods).map((method): [string, string] => [method.toUpperCase(), route.replace(/\{[^}]+\}/g, 'hook')]),
);

describe('admin API', function () {
  this.timeout(60_000);
  const sources = testSources();

  it('routes exactly the paths and methods the OpenAPI document lists', () => {
    const router = createAdminRouter({
      store: undefined as never,
      deliver: undefined as never,
      routing: undefined as never,
      providers: {},
      health: undefined as never,
    });
    const routed = router.stack
      .flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`))
      .sort();
    const documented = Object.entries(openapi.paths)
      .flatMap(([route, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${route}`))
      .sort();
    assert.deepEqual(routed, documented);
  });

  describe('without HERALD_ADMIN_TOKEN', () => {
    withAdminToken(undefined);
    let herald: TestHerald;
    before(async () => {
      herald = await startTestHerald({}, { stages: false });
    });
    after(() => herald.stop());

    it('is off: every route answers 404, with or without a token', async () => {
      for (const [method, url] of EVERY_ROUTE) {
        for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }, { authorization: 'Bearer ' }] as Array<Record<string, string>>) {
          const response = await fetch(`${herald.url}${url}`, { method, headers });
          assert.equal(response.status, 404, `${method} ${url}`);
        }
      }
    });
  });

  describe('with HERALD_ADMIN_TOKEN', () => {
    withAdminToken(TOKEN);

    describe('authentication and listing', () => {
      let herald: TestHerald;
      const events: NormalizedEvent[] = [];
      const base = Date.parse('2026-03-01T00:00:00Z');
      before(async () => {
        // Stages off: the events stay as inserted, and nothing is sent.
        herald = await startTestHerald({}, { stages: false });
        const sourceNames = ['facesign', 'faceio', 'legaltalent', 'owleyes'] as const;
        for (let i = 0; i < 1000; i++) {
          const source = sourceNames[i % 4]!;
          events.push({
            specversion: '1.0',
            id: newEventId(),
            source,
            provider: source,
            type: i % 3 === 0 ? 'session.rejected' : 'session.status',
            category: 'verification',
            outcome: i % 5 === 0 ? 'rejected' : 'approved',
            subject: `subj_${i % 7}`,
            time: new Date(base + i * 1000).toISOString(),
            receivedAt: new Date(base + i * 1000).toISOString(),
            providerEventId: `evt_${i}`,
            datacontenttype: 'application/json',
            data: { i },
          });
        }
        // Group commit: concurrent inserts share transactions.
        await Promise.all(events.map((event) => herald.store.insertEvent({ event, dedupeKey: event.id, dedupeUntilMs: Date.now() + 60_000 })));
      });
      after(() => herald.stop());

      it('answers 401 on every route without the token, with a wrong one, or with another scheme', async () => {
        for (const [method, url] of EVERY_ROUTE) {
          for (const token of [null, 'wrong-token', `${TOKEN}x`, TOKEN.slice(0, -1), '']) {
            const reply = await api(herald, method, url, undefined, token);
            assert.equal(reply.status, 401, `${method} ${url} with ${String(token)}`);
            assert.deepEqual(reply.body, { error: 'unauthorized' });
          }
          const basic = await fetch(`${herald.url}${url}`, { method, headers: { authorization: `Basic ${TOKEN}` } });
          assert.equal(basic.status, 401);
          assert.equal(basic.headers.get('www-authenticate'), 'Bearer realm="herald admin"');
        }
      });

      it('serves its OpenAPI document', async () => {
        const reply = await api<OpenApiDoc>(herald, 'GET', '/api/openapi.json');
        assert.deepEqual(reply.body, openapi);
      });

      it('pages through 1,000 events in order with the cursor', async () => {
        const seen: string[] = [];
        let url = '/api/events?limit=300';
        for (;;) {
          const reply = await api<{ events: NormalizedEvent[]; nextCursor: string | null }>(herald, 'GET', url);
          assert.equal(reply.status, 200);
          seen.push(...reply.body.events.map((e) => e.id));
          if (!reply.body.nextCursor) break;
          url = `/api/events?limit=300&after=${reply.body.nextCursor}`;
        }
        assert.deepEqual(
          seen,
          events.map((e) => e.id),
        );
        const first = await api<{ events: NormalizedEvent[] }>(herald, 'GET', '/api/events');
        assert.equal(first.body.events.length, 100, 'the default page size');
      });

      it('filters by source, provider, type, outcome, subject and receive time, together with pagination', async () => {
        const cases: Array<[string, (e: NormalizedEvent, i: number) => boolean]> = [
          ['source=legaltalent', (e) => e.source === 'legaltalent'],
          ['provider=faceio&outcome=rejected', (e) => e.provider === 'faceio' && e.outcome === 'rejected'],
          ['type=session.rejected&subject=subj_3', (e) => e.type === 'session.rejected' && e.subject === 'subj_3'],
          [`since=${new Date(base + 100_000).toISOString()}&until=${encodeURIComponent('2026-03-01T00:05:00+00:00')}`, (_, i) => i >= 100 && i < 300],
        ];
        for (const [query, expected] of cases) {
          const ids: string[] = [];
          let cursor: string | null = null;
          do {
            const url: string = `/api/events?${query}&limit=37${cursor ? `&after=${cursor}` : ''}`;
            const reply = await api<{ events: NormalizedEvent[]; nextCursor: string | null }>(herald, 'GET', url);
            assert.equal(reply.status, 200, url);
            ids.push(...reply.body.events.map((e) => e.id));
            cursor = reply.body.nextCursor;
          } while (cursor);
          const want = events.filter(expected).map((e) => e.id);
          assert.ok(want.length > 0);
          assert.deepEqual(ids, want, query);
        }
      });

      it('refuses a bad limit or time with a 400 that says what to send', async () => {
        for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'since=yesterday', 'source=a&source=b']) {
          const reply = await api<{ error: string }>(herald, 'GET', `/api/events?${query}`);
          assert.equal(reply.status, 400, query);
        }
        const bad = await api<{ error: string }>(herald, 'POST', '/api/dead-letters/retry', { since: 'then' });
        assert.equal(bad.status, 400);
        assert.match(bad.body.error, /"since" is a time/);
      });

      it('answers 404 for an unknown event, delivery or destination', async () => {
        const unknown = newEventId();
        assert.equal((await api(herald, 'GET', `/api/events/${unknown}`)).status, 404);
        assert.equal((await api(herald, 'POST', `/api/events/${unknown}/replay`)).status, 404);
        assert.equal((await api(herald, 'POST', `/api/deliveries/${unknown}/retry`)).status, 404);
        assert.equal((await api(herald, 'POST', '/api/destinations/nowhere/pause')).status, 404);
        for (const name of ['nowhere', 'constructor', '__proto__']) assert.equal((await api(herald, 'GET', `/api/destinations/${name}`)).status, 404, name);
      });

      it('refuses to replay an event routing has not sent yet (409), writing no audit entry: replayed too, it would go out twice', async () => {
        // The stages are off here: every event is as ingest stored it, not routed.
        const refused = await api<{ error: string }>(herald, 'POST', `/api/events/${events[0]!.id}/replay`);
        assert.equal(refused.status, 409);
        assert.match(refused.body.error, /not routed yet/);
        assert.deepEqual(await herald.store.listAudit({ action: 'event.replay' }), []);
        const range = await api<{ deliveries: number; notRouted: number }>(herald, 'POST', '/api/events/replay', {
          since: new Date(base).toISOString(),
          limit: 10,
        });
        assert.deepEqual([range.body.deliveries, range.body.notRouted], [0, 10]);
      });
    });

    describe('destinations', () => {
      const ed25519 = generateEd25519KeyPair();
      const hmac = generateHmacSecret();
      let herald: TestHerald;
      before(async () => {
        const signed: DestinationConfig = {
          name: 'signed',
          type: 'webhook',
          options: { url: 'https://crm.example.com/hooks', secrets: [hmac, ed25519.secretKey] },
        };
        const chat: DestinationConfig = { name: 'chat', type: 'slack', options: { url: 'https://hooks.slack.com/services/T0/B0/X' } };
        herald = await startTestHerald({ rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook('https://crm.example.com/hook'), signed, chat } });
      });
      after(() => herald?.stop());

      it('shows how a destination signs, with the Ed25519 public key for its receiver, and never a secret or URL', async () => {
        const reply = await api(herald, 'GET', '/api/destinations/signed');
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.body, {
          name: 'signed',
          type: 'webhook',
          signingKeys: [
            { scheme: 'v1', algorithm: 'HMAC-SHA256' },
            { scheme: 'v1a', algorithm: 'Ed25519', publicKey: ed25519.publicKey },
          ],
        });
        assert.deepEqual((await api(herald, 'GET', '/api/destinations/chat')).body, { name: 'chat', type: 'slack', signingKeys: [] });
        const text = JSON.stringify(reply.body);
        for (const secret of [hmac, ed25519.secretKey, 'crm.example.com']) assert.ok(!text.includes(secret.replace(/^wh(sec|sk)_/, '')), text);
      });

      it('answers 404 for a destination named after what every object inherits (__proto__, constructor, toString)', async () => {
        for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
          for (const action of ['pause', 'resume']) {
            assert.equal((await api(herald, 'POST', `/api/destinations/${name}/${action}`)).status, 404, `${name} ${action}`);
          }
        }
        assert.deepEqual(herald.deliver.paused(), []);
      });
    });

    describe("destinations' health on an injected clock", () => {
      let herald: TestHerald;
      let clock: number;
      let queueReads: number;
      before(async () => {
        clock = Date.now();
        // Stages off: the attempts are the test's, at the times it gives them.
        herald = await startTestHerald(
          { rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook('https://crm.example.com/hook') } },
          {
            stages: false,
            operatorClock: () => clock,
          },
        );
        const queueSnapshot = herald.store.queueSnapshot.bind(herald.store);
        queueReads = 0;
        herald.store.queueSnapshot = (now) => {
          queueReads += 1;
          return queueSnapshot(now);
        };
      });
      after(() => herald?.stop());

      /** Stores an event routed to `hook` with `count` pending deliveries; returns their ids. */
      async function pendingDeliveries(count: number): Promise<string[]> {
        const at = new Date().toISOString();
        const event: NormalizedEvent = {
          specversion: '1.0',
          id: newEventId(),
          source: 'facesign',
          provider: 'facesign',
          type: 'session.status',
          category: 'verification',
          outcome: null,
          subject: 'sess_rate',
          time: at,
          receivedAt: at,
          providerEventId: null,
          datacontenttype: 'application/json',
          data: {},
        };
        await herald.store.insertEvent({ event, dedupeKey: event.id, dedupeUntilMs: Date.now() + 60_000 });
        const ids = Array.from({ length: count }, () => newEventId());
        await herald.store.markRouted([
          {
            eventId: event.id,
            rulesVersion: 'test',
            deliveries: ids.map((id) => ({
              id,
              rule: 'everything-to-hook',
              destination: 'hook',
              template: 't',
              status: 'pending' as const,
              message: { channel: 'webhook' as const, body: {}, contentType: 'application/json' },
            })),
          },
        ]);
        return ids;
      }

      /** Records one attempt at a pending delivery, started at `startedAt` on the test's clock. */
      async function attempted(id: string, n: number, startedAt: number, outcome: 'delivered' | 'retry' | 'dead'): Promise<void> {
        const claimed = await herald.store.claimDueDeliveries({
          destination: 'hook',
          limit: 100,
          claimant: 'test',
          claimTtlMs: 60_000,
          now: Date.now() + 1000,
        });
        assert.ok(claimed.some((d) => d.id === id));
        const verdict =
          outcome === 'delivered'
            ? { status: 'delivered' as const }
            : outcome === 'dead'
              ? { status: 'dead' as const }
              : { status: 'pending' as const, nextAttemptAt: 0 };
        const attempt = { deliveryId: id, attempt: n, startedAt, durationMs: 5, outcome, status: 200, reason: null, error: null, responseExcerpt: null };
        assert.ok(await herald.store.completeAttempt('test', attempt, verdict));
        await herald.store.releaseClaims('test');
      }

      it('shows the delivery rate of the last 5 minutes from the stored attempts, per minute', async () => {
        const [old, ok, flaky, waiting] = await pendingDeliveries(4);
        await attempted(old!, 1, clock - 5 * 60_000 - 1, 'delivered'); // just outside the window
        await attempted(ok!, 1, clock - 4 * 60_000, 'delivered');
        await attempted(flaky!, 1, clock - 3 * 60_000, 'retry');
        await attempted(flaky!, 2, clock - 60_000, 'delivered');
        await attempted(waiting!, 1, clock - 30_000, 'retry');
        const reply = await api<{ destinations: Array<{ name: string; pending: number; rate: unknown }> }>(herald, 'GET', '/api/destinations');
        const [health] = reply.body.destinations;
        assert.deepEqual(health!.rate, { windowMinutes: 5, delivered: 2, failed: 2, deliveredPerMinute: 0.4, failedPerMinute: 0.4 });
        assert.equal(health!.pending, 1);

        clock += 5 * 60_000; // every attempt is older than the window now
        const later = await api<{ destinations: Array<{ rate: unknown }> }>(herald, 'GET', '/api/destinations');
        assert.deepEqual(later.body.destinations[0]!.rate, { windowMinutes: 5, delivered: 0, failed: 0, deliveredPerMinute: 0, failedPerMinute: 0 });
      });

      it('reads the queue once for /metrics and the destinations while the reading is under 5 s old', async () => {
        clock += 60_000; // past the life of the last reading
        const before = queueReads;
        const pending = async () => (await api<{ destinations: Array<{ pending: number }> }>(herald, 'GET', '/api/destinations')).body.destinations[0]!.pending;
        const first = await pending();
        assert.equal(await pending(), first);
        assert.match(await (await fetch(`${herald.url}/metrics`)).text(), new RegExp(`^herald_queue_pending{destination="hook"} ${first}$`, 'm'));
        assert.equal(queueReads - before, 1, 'two pages and a scrape: one count of the queue');

        await pendingDeliveries(2);
        clock += 4_999;
        assert.equal(await pending(), first, 'the reading is kept for 5 s');
        assert.equal(queueReads - before, 1);
        clock += 1;
        assert.equal(await pending(), first + 2);
        assert.equal(queueReads - before, 2);
      });
    });

    describe('retry, replay and pause', () => {
      let herald: TestHerald;
      let sink: HttpSink;
      beforeEach(async () => {
        sink = await startHttpSink(() => ({ status: 200 }));
        herald = await startTestHerald({ rulesDir: ONE_WEBHOOK_RULE, destinations: { hook: hook(`${sink.url}/crm`) } });
      });
      afterEach(async () => {
        await herald?.stop();
        await sink.close();
      });

      async function settled(filter: (d: Delivery) => boolean, count: number): Promise<Delivery[]> {
        return settledDeliveries(herald.store, count, filter);
      }

      /** Posts `count` events that the sink refuses for good (400): dead letters. */
      async function deadLetters(count: number): Promise<Delivery[]> {
        sink.reply = () => ({ status: 400, body: 'no' });
        for (let i = 0; i < count; i++) {
          const payload = { ...(loadSample('legaltalent', 'kyc.session.rejected') as Record<string, unknown>), id: `evt_dead_${i}` };
          assert.equal((await herald.postSigned(sources.legaltalent, payload)).status, 200);
        }
        const dead = await settled(() => true, count);
        assert.ok(dead.every((d) => d.status === 'dead'));
        sink.reply = () => ({ status: 200 });
        return dead;
      }

      it('shows an event with its matched rules, deliveries and every attempt', async () => {
        const [dead] = await deadLetters(1);
        const metrics = await (await fetch(`${herald.url}/metrics`)).text();
        assert.match(metrics, /^herald_dead_letters 1$/m, 'the queue gauges read the store');
        const reply = await api<{ matchedRules: string[]; deliveries: Array<{ delivery: Delivery; attempts: unknown[] }> }>(
          herald,
          'GET',
          `/api/events/${dead!.eventId}`,
        );
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.body.matchedRules, ['everything-to-hook']);
        assert.equal(reply.body.deliveries.length, 1);
        assert.equal(reply.body.deliveries[0]!.attempts.length, 1);
      });

      it('lists dead letters by destination and rule, and retries one: it is sent again, its attempts kept', async () => {
        const dead = await deadLetters(3);
        const listed = await api<{ deadLetters: Delivery[]; nextCursor: string | null }>(
          herald,
          'GET',
          '/api/dead-letters?destination=hook&rule=everything-to-hook&limit=2',
        );
        assert.deepEqual(
          listed.body.deadLetters.map((d) => d.id),
          dead
            .map((d) => d.id)
            .sort()
            .slice(0, 2),
        );
        assert.ok(listed.body.nextCursor);
        const none = await api<{ deadLetters: Delivery[] }>(herald, 'GET', '/api/dead-letters?rule=another');
        assert.deepEqual(none.body.deadLetters, []);

        const requestsBefore = sink.requests.length;
        const retried = await api<{ delivery: Delivery }>(herald, 'POST', `/api/deliveries/${dead[0]!.id}/retry`);
        assert.equal(retried.status, 200);
        assert.equal(retried.body.delivery.status, 'pending');
        await sink.waitFor(requestsBefore + 1);
        const [delivered] = await settled((d) => d.id === dead[0]!.id && d.status === 'delivered', 1);
        assert.equal(delivered!.attempts, 2);
        assert.deepEqual(
          (await herald.store.listAttempts(delivered!.id)).map((a) => a.outcome),
          ['dead', 'delivered'],
        );
        const again = await api<{ error: string }>(herald, 'POST', `/api/deliveries/${dead[0]!.id}/retry`);
        assert.equal(again.status, 409, 'a delivered delivery is not sent again');
      });

      it('retries every dead letter matching a filter and says how many', async () => {
        await deadLetters(3);
        const other = await api<{ retried: number }>(herald, 'POST', '/api/dead-letters/retry', { destination: 'elsewhere' });
        assert.deepEqual(other.body, { retried: 0 });
        const reply = await api<{ retried: number }>(herald, 'POST', '/api/dead-letters/retry', {
          destination: 'hook',
          rule: 'everything-to-hook',
          since: '2020-01-01T00:00:00Z',
        });
        assert.deepEqual(reply.body, { retried: 3 });
        const delivered = await settled((d) => d.status === 'delivered', 3);
        assert.equal(delivered.length, 3);
        assert.equal((await api<{ deadLetters: Delivery[] }>(herald, 'GET', '/api/dead-letters')).body.deadLetters.length, 0);
      });

      it('retries a selection by id with a reason, each audited in the name of X-Herald-Actor; says which could not be', async () => {
        const dead = await deadLetters(2);
        const reply = await api<{ retried: number; results: unknown[] }>(
          herald,
          'POST',
          '/api/dead-letters/retry',
          { ids: [dead[0]!.id, 'no-such-delivery'], reason: 'receiver fixed' },
          TOKEN,
          { 'x-herald-actor': 'alice' },
        );
        assert.deepEqual(reply.body, {
          retried: 1,
          results: [
            { id: dead[0]!.id, status: 'retried' },
            { id: 'no-such-delivery', status: 'unknown' },
          ],
        });
        await settled((d) => d.id === dead[0]!.id && d.status === 'delivered', 1);
        assert.equal((await herald.store.getDelivery(dead[1]!.id))!.status, 'dead', 'what was not selected stays dead');
        const audit = await herald.store.listAudit({ action: 'delivery.retry' });
        assert.deepEqual(
          audit.map((e) => [e.actor, e.target, e.detail?.reason, e.detail?.via]),
          [
            ['alice', dead[0]!.id, 'receiver fixed', 'api'],
            ['alice', 'no-such-delivery', 'receiver fixed', 'api'],
          ],
        );
        const bad = await api(herald, 'POST', '/api/dead-letters/retry', { ids: 'one' });
        assert.equal(bad.status, 400);
      });

      it('lists events newest first, by category and by the state of their deliveries', async () => {
        const dead = await deadLetters(2);
        const newest = await api<{ events: NormalizedEvent[] }>(herald, 'GET', '/api/events?order=desc&delivery=dead&category=verification');
        assert.deepEqual(
          newest.body.events.map((e) => e.id),
          dead
            .map((d) => d.eventId)
            .sort()
            .reverse(),
        );
        assert.deepEqual((await api<{ events: NormalizedEvent[] }>(herald, 'GET', '/api/events?delivery=delivered')).body.events, []);
        assert.equal((await api(herald, 'GET', '/api/events?delivery=lost')).status, 400);
        assert.equal((await api(herald, 'GET', '/api/events?order=up')).status, 400);
      });

      it("shows every destination's health: pause, breaker, queue depth and the latest dead letter's error", async () => {
        await deadLetters(1);
        const reply = await api<{ destinations: unknown[] }>(herald, 'GET', '/api/destinations');
        assert.deepEqual(reply.body.destinations, [
          {
            name: 'hook',
            type: 'webhook',
            paused: false,
            breaker: 'closed',
            pending: 0,
            oldestDueAt: null,
            deadLast24h: 1,
            lastError: 'client-error: the webhook receiver answered HTTP 400',
            rate: { windowMinutes: 5, delivered: 0, failed: 1, deliveredPerMinute: 0, failedPerMinute: 0.2 },
          },
        ]);
      });

      it('replays an event through the current rules: new deliveries sent, the old ones kept; a dry run stores nothing', async () => {
        assert.equal((await herald.postSigned(sources.legaltalent, loadSample('legaltalent', 'kyc.session.rejected'))).status, 200);
        const [first] = await settled((d) => d.status === 'delivered', 1);
        const dry = await api<{ dryRun: boolean; deliveries: Array<{ id: string; destination: string }> }>(
          herald,
          'POST',
          `/api/events/${first!.eventId}/replay`,
          { dryRun: true },
        );
        assert.equal(dry.body.dryRun, true);
        assert.equal(dry.body.deliveries.length, 1);
        assert.equal(dry.body.deliveries[0]!.destination, 'hook');
        assert.equal((await herald.store.listDeliveries({ eventId: first!.eventId })).length, 1, 'a dry run stores nothing');

        const replayed = await api<{ dryRun: boolean; deliveries: Array<{ id: string }> }>(herald, 'POST', `/api/events/${first!.eventId}/replay`);
        assert.equal(replayed.body.dryRun, false);
        await sink.waitFor(2);
        const all = await settled((d) => d.eventId === first!.eventId && d.status === 'delivered', 2);
        assert.deepEqual(all.map((d) => d.id).sort(), [first!.id, replayed.body.deliveries[0]!.id].sort());
        // A rule name that is not loaded (a misspelling) is refused, naming it, and replays nothing.
        const audited = (await herald.store.listAudit({ action: 'event.replay' })).length;
        const norule = await api<{ error: { message: string } }>(herald, 'POST', `/api/events/${first!.eventId}/replay`, { rules: ['nope'] });
        assert.equal(norule.status, 400);
        assert.match(JSON.stringify(norule.body), /nope/);
        assert.equal((await herald.store.listDeliveries({ eventId: first!.eventId })).length, 2);
        assert.equal((await herald.store.listAudit({ action: 'event.replay' })).length, audited);
      });

      it('lists the rules in force and tests an event against them, sending and storing nothing; a stored event with pii=include is audited', async () => {
        const rules = await api<{ rules: Array<{ name: string; notify: Array<{ to: string }> }> }>(herald, 'GET', '/api/rules');
        assert.deepEqual(
          rules.body.rules.map((r) => [r.name, r.notify.map((n) => n.to)]),
          [['everything-to-hook', ['hook']]],
        );
        assert.equal((await herald.postSigned(sources.legaltalent, loadSample('legaltalent', 'kyc.session.rejected'))).status, 200);
        const [first] = await settled((d) => d.status === 'delivered', 1);
        type Tested = { event: NormalizedEvent; fired: string[]; notifications: Array<{ destination: string; status: string; message: { body?: unknown } }> };
        const masked = await api<Tested>(herald, 'POST', '/api/rules/test', { eventId: first!.eventId }, TOKEN, { 'x-herald-actor': 'rita' });
        assert.equal(masked.status, 200);
        assert.deepEqual(masked.body.fired, ['everything-to-hook']);
        assert.deepEqual(
          masked.body.notifications.map((n) => [n.destination, n.status]),
          [['hook', 'pending']],
        );
        assert.ok(JSON.stringify(masked.body.notifications[0]!.message.body).includes(first!.eventId), 'the rendered webhook body');
        assert.equal((await herald.store.listDeliveries({ eventId: first!.eventId })).length, 1, 'nothing stored');
        assert.equal((await herald.store.listAudit({ action: 'event.pii.read' })).length, 0, 'a masked test reads no personal data');

        await api(herald, 'POST', '/api/rules/test', { eventId: first!.eventId, pii: 'include' }, TOKEN, { 'x-herald-actor': 'rita' });
        const reads = await herald.store.listAudit({ action: 'event.pii.read' });
        assert.deepEqual(
          reads.map((r) => [r.actor, r.target, r.detail?.via]),
          [['rita', first!.eventId, 'api']],
        );

        const whole = await api<Tested>(herald, 'POST', '/api/rules/test', { event: masked.body.event });
        assert.deepEqual(whole.body.fired, ['everything-to-hook']);
        assert.equal(sink.requests.length, 1, 'nothing sent');

        assert.equal((await api(herald, 'POST', '/api/rules/test', { eventId: 'no-such-event' })).status, 404);
        for (const body of [
          {},
          { eventId: first!.eventId, event: masked.body.event },
          { event: { not: 'an event' } },
          { eventId: first!.eventId, pii: 'all' },
        ]) {
          assert.equal((await api(herald, 'POST', '/api/rules/test', body)).status, 400, JSON.stringify(body).slice(0, 80));
        }
      });

      it('replays a time range a page at a time: the first page counts the range, a dry run stores nothing', async () => {
        for (let i = 0; i < 3; i++) {
          const payload = { ...(loadSample('legaltalent', 'kyc.session.rejected') as Record<string, unknown>), id: `evt_range_${i}` };
          assert.equal((await herald.postSigned(sources.legaltalent, payload)).status, 200);
        }
        const first = await settled((d) => d.status === 'delivered', 3);
        const since = '2020-01-01T00:00:00Z';
        type Page = { dryRun: boolean; events: number; deliveries: number; byRule: Record<string, number>; nextCursor: string | null; total?: number };
        const dry1 = await api<Page>(herald, 'POST', '/api/events/replay', { since, dryRun: true, limit: 2 });
        assert.equal(dry1.status, 200);
        const oldest = first.map((d) => d.eventId).sort();
        assert.deepEqual(dry1.body, {
          dryRun: true,
          events: 2,
          deliveries: 2,
          byRule: { 'everything-to-hook': 2 },
          batched: 0,
          batchedByRule: {},
          notRouted: 0,
          nextCursor: oldest[1],
          total: 3,
        });
        const dry2 = await api<Page>(herald, 'POST', '/api/events/replay', { since, dryRun: true, limit: 2, after: dry1.body.nextCursor });
        assert.deepEqual(
          dry2.body,
          { dryRun: true, events: 1, deliveries: 1, byRule: { 'everything-to-hook': 1 }, batched: 0, batchedByRule: {}, notRouted: 0, nextCursor: null },
          'no total after the first page',
        );
        assert.equal((await herald.store.listDeliveries({ limit: 100 })).length, 3, 'a dry run stores nothing');
        const none = await api<Page>(herald, 'POST', '/api/events/replay', { since, until: since });
        assert.deepEqual(none.body, {
          dryRun: false,
          events: 0,
          deliveries: 0,
          byRule: {},
          batched: 0,
          batchedByRule: {},
          notRouted: 0,
          nextCursor: null,
          total: 0,
        });

        const replayed = await api<Page>(herald, 'POST', '/api/events/replay', { since });
        assert.deepEqual(replayed.body, {
          dryRun: false,
          events: 3,
          deliveries: 3,
          byRule: { 'everything-to-hook': 3 },
          batched: 0,
          batchedByRule: {},
          notRouted: 0,
          nextCursor: null,
          total: 3,
        });
        await sink.waitFor(6);
        const all = await settled((d) => d.status === 'delivered', 6);
        assert.deepEqual(all.map((d) => d.eventId).sort(), [...oldest, ...oldest].sort(), 'one new delivery per event, the old ones kept');
      });

      it('refuses a range replay without since, with an unknown rule or a bad limit, saying what to send', async () => {
        const cases: Array<[unknown, RegExp]> = [
          [{}, /"since" is required/],
          [{ since: 'yesterday' }, /"since" is a time/],
          [{ since: '2020-01-01T00:00:00Z', rule: 'nope' }, /^no rule "nope" in the rule files \(everything-to-hook\)$/],
          [{ since: '2020-01-01T00:00:00Z', limit: 0 }, /"limit" is a whole number/],
          [{ since: '2020-01-01T00:00:00Z', limit: '10' }, /"limit" is a whole number/],
        ];
        for (const [body, message] of cases) {
          const reply = await api<{ error: string }>(herald, 'POST', '/api/events/replay', body);
          assert.equal(reply.status, 400, JSON.stringify(body));
          assert.match(reply.body.error, message);
        }
      });

      it('pauses a destination (deliveries wait) and resumes it (they are sent)', async () => {
        const paused = await api<{ paused: boolean; pausedDestinations: string[] }>(herald, 'POST', '/api/destinations/hook/pause');
        assert.deepEqual(paused.body, { destination: 'hook', paused: true, pausedDestinations: ['hook'] });
        assert.equal((await herald.postSigned(sources.legaltalent, loadSample('legaltalent', 'kyc.session.rejected'))).status, 200);
        await waitUntil(() => herald.deliver.paused().length === 1);
        await waitUntil(async () => (await herald.store.listDeliveries({ status: 'pending' })).length === 1, 5000, 'a pending delivery');
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(sink.requests.length, 0, 'nothing is sent to a paused destination');
        const metrics = await (await fetch(`${herald.url}/metrics`)).text();
        assert.match(metrics, /^herald_queue_pending\{destination="hook"\} 1$/m);
        const age = Number(/^herald_queue_oldest_due_age_seconds\{destination="hook"\} (\S+)$/m.exec(metrics)?.[1]);
        assert.ok(age >= 0.3 && age < 10, `the oldest due delivery has waited ${age} s`);
        const resumed = await api(herald, 'POST', '/api/destinations/hook/resume');
        assert.deepEqual(resumed.body, { destination: 'hook', paused: false, pausedDestinations: [] });
        await sink.waitFor(1);
        const audit = await herald.store.listAudit({ target: 'hook' });
        assert.deepEqual(
          audit.map((e) => [e.action, e.actor]),
          [
            ['destination.pause', 'unnamed'],
            ['destination.resume', 'unnamed'],
          ],
        );
      });
    });

    for (const kind of ['sqlite', 'postgres'] as const) {
      describe(`replay of events of a rule that batches (${kind})`, () => {
        /** A group per session, its message 3 s after its first event, then at most one every 10 minutes; and a rule that sends each event. */
        const RULES = `- name: per-session
  group: { by: [subject], wait: 3s, interval: 10m }
  notify: [{ to: hook, template: group-summary }]
- name: each
  notify: [{ to: hook, template: session-finished }]
`;
        const INTERVAL = 600_000;
        let herald: TestHerald;
        let sink: HttpSink;
        let schema: TestSchema | undefined;
        let dir: string;
        /** The stages' clock: it stands still until a test moves it past a group's wait or interval. */
        let clock: number;

        beforeEach(async () => {
          dir = tempDir('herald-replay-batches-');
          writeFileSync(path.join(dir, 'rules.yaml'), RULES);
          const templates = path.join(dir, 'templates');
          cpSync(path.join(BATCHING, 'templates/group-summary'), path.join(templates, 'group-summary'), { recursive: true });
          cpSync(path.join(SHIPPED_TEMPLATES_DIR, 'session-finished'), path.join(templates, 'session-finished'), { recursive: true });
          if (kind === 'postgres') schema = await createTestSchema();
          sink = await startHttpSink(() => ({ status: 200 }));
          // Ahead of real time, so what the store makes due at real time (a delivery) is due for the stages.
          clock = Date.now() + 60_000;
          herald = await startTestHerald(
            { rulesDir: dir, templatesDir: templates, destinations: { hook: hook(`${sink.url}/crm`) }, ...(schema && { store: schema.url }) },
            { stageClock: () => clock },
          );
        });
        afterEach(async () => {
          await herald?.stop();
          await sink.close();
          await schema?.drop();
          rmSync(dir, { recursive: true, force: true });
        });

        /** The group messages the sink received, in order. */
        const groupMessages = () =>
          sink.requests.map((r) => (JSON.parse(r.body) as { data: { count?: number; ids?: string } }).data).filter((data) => data.ids !== undefined);

        /** Posts one event and sends its group's first message; returns the event's id and when the message went out (stage clock). */
        async function eventSentInItsGroup(): Promise<{ eventId: string; sentAt: number }> {
          assert.equal((await herald.postSigned(sources.legaltalent, loadSample('legaltalent', 'kyc.session.rejected'))).status, 200);
          const [each] = await settledDeliveries(herald.store, 1);
          assert.equal(each!.rule, 'each');
          clock += 3_001;
          herald.batches.wake();
          await waitUntil(() => groupMessages().length === 1, 10_000, "the group's first message");
          return { eventId: each!.eventId, sentAt: clock };
        }

        /** Moves the stages' clock to `at` and waits for the group's next message. */
        async function nextGroupMessage(at: number, count: number) {
          clock = at;
          herald.batches.wake();
          await waitUntil(() => groupMessages().length === count, 10_000, `group message ${count}`);
          return groupMessages()[count - 1]!;
        }

        it("puts a replayed event in its group's next message: planned by a dry run that stores nothing, sent once however often it is replayed while it waits", async () => {
          const { eventId, sentAt } = await eventSentInItsGroup();
          assert.equal(await herald.store.nextBatchDueAt(), undefined, 'the group is empty');

          type Result = { dryRun: boolean; deliveries: Array<{ rule: string }>; batched: Array<Record<string, string>> };
          const dry = await api<Result>(herald, 'POST', `/api/events/${eventId}/replay`, { dryRun: true, rule: 'per-session' });
          const joined = { rule: 'per-session', destination: 'hook', template: 'group-summary', key: 'kyc_sess_5c1d9e' };
          assert.deepEqual(dry.body, { dryRun: true, deliveries: [], batched: [joined] });
          assert.equal(await herald.store.nextBatchDueAt(), undefined, 'a dry run stores nothing');

          const replayed = await api<Result>(herald, 'POST', `/api/events/${eventId}/replay`);
          assert.deepEqual(replayed.body.batched, [joined]);
          assert.deepEqual(
            replayed.body.deliveries.map((d) => d.rule),
            ['each'],
            'the rule that sends per event makes a delivery',
          );
          // As routing would: the group's last message went out less than an interval ago, so the next is due an interval after it.
          assert.equal(await herald.store.nextBatchDueAt(), sentAt + INTERVAL);
          await api<Result>(herald, 'POST', `/api/events/${eventId}/replay`, { rule: 'per-session' });
          assert.equal(await herald.store.nextBatchDueAt(), sentAt + INTERVAL, 'a replay of an event waiting in its group changes nothing');

          const second = await nextGroupMessage(sentAt + INTERVAL, 2);
          assert.deepEqual([second.count, second.ids], [1, eventId], 'the event once, though replayed twice');
          const group = (await herald.store.listDeliveries({ eventId, rule: 'per-session' })).map((d) => d.status);
          assert.equal(group.length, 2, "the group's two messages are ordinary deliveries of the event");
          assert.equal(await herald.store.nextBatchDueAt(), undefined, 'nothing left waiting');
        });

        it('replays a time range for a rule that batches: the events are counted as batched, not as deliveries, and go out in its next message', async () => {
          const { eventId, sentAt } = await eventSentInItsGroup();
          const since = '2020-01-01T00:00:00Z';
          type Page = Record<string, unknown>;
          const dry = await api<Page>(herald, 'POST', '/api/events/replay', { since, rule: 'per-session', dryRun: true });
          const counts = { events: 1, deliveries: 0, byRule: {}, batched: 1, batchedByRule: { 'per-session': 1 }, notRouted: 0, nextCursor: null, total: 1 };
          assert.deepEqual(dry.body, { dryRun: true, ...counts });
          assert.equal(await herald.store.nextBatchDueAt(), undefined, 'a dry run stores nothing');
          const all = await api<Page>(herald, 'POST', '/api/events/replay', { since, dryRun: true });
          assert.deepEqual(all.body, { dryRun: true, ...counts, deliveries: 1, byRule: { each: 1 } }, 'without the filter, both rules');

          const replayed = await api<Page>(herald, 'POST', '/api/events/replay', { since, rule: 'per-session' });
          assert.deepEqual(replayed.body, { dryRun: false, ...counts });
          const second = await nextGroupMessage(sentAt + INTERVAL, 2);
          assert.equal(second.ids, eventId);
          assert.equal((await herald.store.listDeliveries({ eventId, rule: 'each' })).length, 1, "the filter kept the other rule's delivery out");
        });

        it('replays a set of rules (`rules`), refusing an unknown name in it; a dry run previews its first messages rendered, masked unless pii include (audited)', async () => {
          const { eventId } = await eventSentInItsGroup();
          const since = '2020-01-01T00:00:00Z';
          type Page = { byRule: Record<string, number>; batchedByRule: Record<string, number>; preview?: Array<Record<string, unknown>> };
          const only = await api<Page>(herald, 'POST', '/api/events/replay', { since, rules: ['each'], dryRun: true });
          assert.deepEqual([only.body.byRule, only.body.batchedByRule, only.body.preview], [{ each: 1 }, {}, undefined]);
          const both = await api<Page>(herald, 'POST', '/api/events/replay', { since, rules: ['per-session', 'each'], dryRun: true, preview: true });
          assert.deepEqual([both.body.byRule, both.body.batchedByRule], [{ each: 1 }, { 'per-session': 1 }]);
          const [message, batch] = both.body.preview!;
          assert.deepEqual(both.body.preview!.length, 2);
          assert.deepEqual(
            { ...message, message: undefined },
            { kind: 'delivery', eventId, rule: 'each', destination: 'hook', template: 'session-finished', status: 'pending', message: undefined },
          );
          assert.ok(JSON.stringify(message!.message).includes(eventId), 'the webhook body as it would be sent');
          assert.deepEqual(batch, { kind: 'batch', eventId, rule: 'per-session', destination: 'hook', template: 'group-summary', key: 'kyc_sess_5c1d9e' });
          assert.deepEqual(await herald.store.listAudit({ action: 'event.pii.read' }), [], 'a masked preview reads no personal data');
          await api<Page>(herald, 'POST', '/api/events/replay', { since, rules: ['each'], dryRun: true, preview: true, pii: 'include' }, TOKEN, {
            'x-herald-actor': 'rita',
          });
          assert.deepEqual(
            (await herald.store.listAudit({ action: 'event.pii.read' })).map((e) => [e.actor, e.target]),
            [['rita', eventId]],
          );
          assert.equal((await herald.store.listDeliveries({ eventId, rule: 'each' })).length, 1, 'dry runs store nothing');

          const one = await api<{ deliveries: Array<{ rule: string }>; batched: unknown[] }>(herald, 'POST', `/api/events/${eventId}/replay`, {
            dryRun: true,
            rules: ['each'],
          });
          assert.deepEqual([one.body.deliveries.map((d) => d.rule), one.body.batched], [['each'], []]);

          const cases: Array<[unknown, RegExp]> = [
            [{ since, rules: ['each', 'nope'] }, /^no rule "nope" in the rule files/],
            [{ since, rules: 'each' }, /"rules" is a list of strings/],
            [{ since, preview: true }, /"preview" is for a dry run/],
            [{ since, dryRun: true, preview: true, pii: 'all' }, /"pii" is "include"/],
          ];
          for (const [body, error] of cases) {
            const reply = await api<{ error: string }>(herald, 'POST', '/api/events/replay', body);
            assert.equal(reply.status, 400, JSON.stringify(body));
            assert.match(reply.body.error, error);
          }
          assert.equal((await herald.store.listDeliveries({ eventId, rule: 'each' })).length, 1, 'a refused replay stores nothing');
        });
      });
    }

    describe('personal data', () => {
      let herald: TestHerald;
      const personal = ['Ada Lovelace', '1815-12-10', 'P1234567', '203.0.113.7'];
      const time = new Date().toISOString();
      const stored = (provider: 'faceio' | 'legaltalent', data: Record<string, unknown>): NormalizedEvent => ({
        specversion: '1.0',
        id: newEventId(),
        source: provider,
        provider,
        type: 'kyc.session.approved',
        category: 'verification',
        outcome: 'approved',
        subject: 's1',
        time,
        receivedAt: time,
        providerEventId: null,
        datacontenttype: 'application/json',
        data,
      });
      const kyc = stored('legaltalent', {
        id: 'evt_1',
        data: { session_id: 's1', extracted_data: { full_name: personal[0], date_of_birth: personal[1], document_number: personal[2] } },
      });
      const face = stored('faceio', { eventName: 'AUTH', facialId: 'f1', clientIp: personal[3], details: { gender: 'F', age: 34 } });

      before(async () => {
        herald = await startTestHerald({}, { stages: false });
        for (const event of [kyc, face]) await herald.store.insertEvent({ event, dedupeKey: event.id, dedupeUntilMs: Date.now() + 60_000 });
      });
      after(() => herald.stop());

      /** GET with the token and more headers, checked against the document. */
      async function get<T>(url: string, headers: Record<string, string> = {}): Promise<ApiReply<T>> {
        const response = await fetch(`${herald.url}${url}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
        const body = (await response.json()) as T;
        assertDocumented('GET', url, response.status, body);
        return { status: response.status, body };
      }
      const shows = (body: unknown) => personal.filter((value) => JSON.stringify(body).includes(value));

      it('masks personal fields in an event and in listings by default, and audits nothing', async () => {
        const detail = await get<{ event: NormalizedEvent }>(`/api/events/${kyc.id}`);
        assert.equal(detail.status, 200);
        assert.deepEqual(shows(detail.body), []);
        assert.deepEqual((detail.body.event.data.data as Record<string, unknown>).extracted_data, '[redacted]');
        assert.equal((detail.body.event.data.data as Record<string, unknown>).session_id, 's1', 'other fields stay');
        assert.deepEqual(shows((await get(`/api/events/${face.id}?pii=redact`)).body), []);
        assert.deepEqual(shows((await get('/api/events')).body), []);
        assert.deepEqual((await get<{ entries: unknown[] }>('/api/audit')).body.entries, []);
      });

      it('shows them with pii=include, after writing who, when and which event to the audit log', async () => {
        const before = Date.now();
        const detail = await get<{ event: NormalizedEvent }>(`/api/events/${kyc.id}?pii=include`, { 'x-herald-actor': 'alice' });
        assert.deepEqual(detail.body.event, kyc);
        await get(`/api/events/${face.id}?pii=include`);
        const audit = await get<{ entries: AuditEntry[]; nextCursor: string | null }>('/api/audit?action=event.pii.read');
        assert.deepEqual(
          audit.body.entries.map((e) => [e.actor, e.target]),
          [
            ['alice', kyc.id],
            ['unnamed', face.id],
          ],
        );
        const [entry] = audit.body.entries;
        assert.ok(entry!.at >= before && entry!.at <= Date.now());
        assert.deepEqual(entry!.detail, { via: 'api', remoteAddress: '127.0.0.1' });
        assert.equal((await get<{ entries: AuditEntry[] }>(`/api/audit?target=${face.id}`)).body.entries.length, 1);
        assert.deepEqual(shows(audit.body), [], 'the audit log names the event, not its contents');
      });

      it('refuses a pii value it does not know', async () => {
        const reply = await get<{ error: string }>(`/api/events/${kyc.id}?pii=yes`);
        assert.equal(reply.status, 400);
        assert.match(reply.body.error, /"pii" is "include"/);
      });
    });

    describe('erasure', () => {
      let herald: TestHerald;
      const about = (subject: string): NormalizedEvent => ({
        specversion: '1.0',
        id: newEventId(),
        source: 'facesign',
        provider: 'facesign',
        type: 'session.status',
        category: 'verification',
        outcome: null,
        subject,
        time: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
        providerEventId: null,
        datacontenttype: 'application/json',
        data: { sessionId: subject },
      });
      const gone = [about('sess_gone'), about('sess_gone')];
      const kept = about('sess_kept');

      before(async () => {
        herald = await startTestHerald({}, { stages: false });
        for (const event of [...gone, kept]) await herald.store.insertEvent({ event, dedupeKey: event.id, dedupeUntilMs: Date.now() + 60_000 });
      });
      after(() => herald.stop());

      async function erase<T>(url: string, headers: Record<string, string> = {}): Promise<ApiReply<T>> {
        const response = await fetch(`${herald.url}${url}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
        const body = (await response.json()) as T;
        assertDocumented('DELETE', url, response.status, body);
        return { status: response.status, body };
      }

      it('erases one subject, after a dry run, and audits it; another subject stays', async () => {
        const removed = { events: 2, deliveries: 0, attempts: 0, dedupeKeys: 2, media: 0 };
        assert.deepEqual((await erase('/api/subjects/sess_gone?dryRun=true')).body, { subject: 'sess_gone', dryRun: true, removed });
        assert.equal(await herald.store.countEvents({ subject: 'sess_gone' }), 2);
        const done = await erase('/api/subjects/sess_gone', { 'x-herald-actor': 'dpo' });
        assert.deepEqual(done.body, { subject: 'sess_gone', dryRun: false, removed });
        assert.equal(await herald.store.countEvents({ subject: 'sess_gone' }), 0);
        assert.deepEqual(await herald.store.getEvent(kept.id), kept);
        const audit = await api<{ entries: AuditEntry[] }>(herald, 'GET', '/api/audit?action=subject.erase');
        assert.deepEqual(
          audit.body.entries.map((e) => [e.actor, e.target, e.detail]),
          [['dpo', 'sess_gone', { via: 'api', remoteAddress: '127.0.0.1', removed }]],
        );
      });

      it('refuses a dryRun value it does not know', async () => {
        const reply = await erase<{ error: string }>('/api/subjects/sess_kept?dryRun=yes');
        assert.equal(reply.status, 400);
        assert.match(reply.body.error, /"dryRun" is "true"/);
        assert.equal(await herald.store.countEvents({ subject: 'sess_kept' }), 1);
      });
    });
  });
});
