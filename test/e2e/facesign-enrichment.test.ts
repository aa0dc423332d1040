/**
 * A running herald with a FaceSign source whose api section points at a
 * stand-in for FaceSign's session API: rules match the session's status
 * (`match: { session.status: ... }` and json-logic `var`), the notification
 * carries the session, the admin API shows the event as enriched, and a
 * replay routes the stored session without calling FaceSign again, unless
 * it asks to (`refreshSession`), one event or a time range at a time.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DestinationConfig } from '../../src/core/config.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { ENRICH_SETTLE_MS } from '../../src/pipeline/stages/enrich.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSource } from '../helpers/config.js';
import { settledDeliveries, startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';
import { consoleSession } from '../helpers/console.js';

const API_KEY = 'sk_test_E2eKEY4471';
const ADMIN_TOKEN = 'admin-token-enrich-e2e';
const STATUSES: Record<string, string> = { sess_done: 'complete', sess_left: 'incomplete', sess_busy: 'inProgress' };
const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const CONSOLE_PASSWORD = 'console-password-enrich-e2e';

const RULES = `
- name: completed-sessions
  match: { provider: facesign, type: session.status, session.status: complete }
  notify: [{ to: hook, template: session-finished }]
- name: abandoned-sessions
  when: { "==": [{ "var": "session.status" }, "incomplete"] }
  notify: [{ to: hook, template: session-finished }]
`;

describe('FaceSign enrichment in a running herald', function () {
  this.timeout(30_000);
  let facesignApi: HttpSink;
  let hook: HttpSink;
  let herald: TestHerald;
  let ahead = 0;

  before(async () => {
    facesignApi = await startHttpSink((req) => {
      const id = decodeURIComponent(req.path.split('/').at(-1)!);
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ session: { id, status: STATUSES[id], report: { isVerified: STATUSES[id] === 'complete', livenessDetected: true } } }),
      };
    });
    hook = await startHttpSink();
    const rulesDir = tempDir('herald-rules-');
    writeFileSync(path.join(rulesDir, 'sessions.yaml'), RULES);
    const destination: DestinationConfig = {
      name: 'hook',
      type: 'webhook',
      options: { url: hook.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true },
    };
    const users = [{ name: 'alice', passwordHash: await hashPassword(CONSOLE_PASSWORD, { ln: 10, r: 8, p: 1 }), role: 'admin' as const }];
    herald = await startTestHerald(
      {
        rulesDir,
        destinations: { hook: destination },
        console: { users, sessionTimeoutMs: 30 * 60_000 },
        sources: {
          facesign: testSource('facesign', 'facesign', {
            api: {
              url: facesignApi.url,
              key: API_KEY,
              enrich: ['session.status', 'analysis.*'],
              timeoutMs: 2000,
              giveUpAfterMs: 60_000,
              rate: '10/s',
              allowPrivateNetwork: true,
            },
          }),
        },
      },
      // The stages' clock runs ahead when the test moves it: no waiting out the settling time in real time.
      { adminToken: ADMIN_TOKEN, stageClock: () => Date.now() + ahead },
    );
  });

  after(async () => {
    await herald?.stop();
    await hook?.close();
    await facesignApi?.close();
  });

  it('routes by the session status: match session.status and json-logic var; the notification and the admin API carry the session', async () => {
    const source = herald.config.sources.facesign!;
    for (const sessionId of Object.keys(STATUSES)) {
      const payload = { ...loadSample('facesign', 'session.status'), id: `evt_${sessionId}`, sessionId, createdAt: Date.now() };
      assert.equal((await herald.postSigned(source, payload)).status, 200);
    }
    // The sessions are fetched once the burst has settled: move herald's clock past that.
    ahead += ENRICH_SETTLE_MS;
    herald.enrich.wake();
    const deliveries = await settledDeliveries(herald.store, 2);
    assert.deepEqual(deliveries.map((d) => d.rule).sort(), ['abandoned-sessions', 'completed-sessions']);
    await hook.waitFor(2);
    type Event = { subject: string; outcome: string; session: { status: string; report: { isVerified: boolean } } };
    const bodies = hook.requests.map((r) => (JSON.parse(r.body) as { data: Event }).data);
    const done = bodies.find((b) => b.subject === 'sess_done')!;
    assert.equal(done.outcome, 'completed');
    assert.deepEqual(done.session.report, { isVerified: true, livenessDetected: true });
    assert.equal(bodies.find((b) => b.subject === 'sess_left')!.outcome, 'abandoned');
    assert.equal(facesignApi.requests.length, 3);

    const [busy] = await herald.store.listEvents({ subject: 'sess_busy' });
    const reply = await fetch(`${herald.url}/api/events/${busy!.id}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const detail = (await reply.json()) as { event: { session: { status: string }; enrichment: { error: null; attempts: number } } };
    assert.equal(detail.event.session.status, 'inProgress');
    assert.equal(detail.event.enrichment.error, null);
  });

  it('replays an enriched event with the session stored with it, without calling FaceSign again', async () => {
    const [done] = await herald.store.listEvents({ subject: 'sess_done' });
    const calls = facesignApi.requests.length;
    const sent = hook.requests.length;
    const reply = await fetch(`${herald.url}/api/events/${done!.id}/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(reply.status, 200);
    assert.equal(((await reply.json()) as { deliveries: unknown[] }).deliveries.length, 1);
    await hook.waitFor(sent + 1);
    const replayed = (JSON.parse(hook.requests[sent]!.body) as { data: { subject: string; outcome: string; session: { status: string } } }).data;
    assert.equal(replayed.subject, 'sess_done');
    assert.equal(replayed.session.status, 'complete', 'the stored session');
    assert.equal(replayed.outcome, 'completed');
    // A replay is not a new event: the enrich stage has nothing to do for it either.
    assert.equal(await herald.enrich.enrichOnce(), 0);
    assert.equal(facesignApi.requests.length, calls, 'FaceSign is not asked again');
  });

  it('replays an event asking FaceSign again (refreshSession): one call, routed with the new status, stored, audited', async () => {
    // The session went on since: FaceSign now says it is complete.
    STATUSES.sess_busy = 'complete';
    const [busy] = await herald.store.listEvents({ subject: 'sess_busy' });
    const calls = facesignApi.requests.length;
    const sent = hook.requests.length;
    const dry = await fetch(`${herald.url}/api/events/${busy!.id}/replay`, {
      method: 'POST',
      headers: adminHeaders,
      body: '{"refreshSession":true,"dryRun":true}',
    });
    assert.deepEqual(((await dry.json()) as { sessionRefresh: unknown }).sessionRefresh, { refreshed: true });
    assert.equal((await herald.store.getEvent(busy!.id))!.session!.status, 'inProgress', 'a dry run stores nothing');

    const reply = await fetch(`${herald.url}/api/events/${busy!.id}/replay`, { method: 'POST', headers: adminHeaders, body: '{"refreshSession":true}' });
    assert.equal(reply.status, 200);
    const body = (await reply.json()) as { deliveries: Array<{ rule: string }>; sessionRefresh: unknown };
    assert.deepEqual(body.sessionRefresh, { refreshed: true });
    assert.deepEqual(
      body.deliveries.map((d) => d.rule),
      ['completed-sessions'],
      'the rule of the new status fires',
    );
    assert.equal(facesignApi.requests.length, calls + 2, 'one call for the dry run, one for the replay');
    assert.equal(facesignApi.requests.at(-1)!.path, '/sessions/sess_busy');
    await hook.waitFor(sent + 1);
    const replayed = (JSON.parse(hook.requests[sent]!.body) as { data: { subject: string; outcome: string; session: { status: string } } }).data;
    assert.equal(replayed.session.status, 'complete');
    assert.equal(replayed.outcome, 'completed');

    const detail = await fetch(`${herald.url}/api/events/${busy!.id}`, { headers: adminHeaders });
    assert.equal(((await detail.json()) as { event: { session: { status: string } } }).event.session.status, 'complete');
    const audit = await fetch(`${herald.url}/api/audit?action=event.replay&order=desc&limit=1`, { headers: adminHeaders });
    const [entry] = ((await audit.json()) as { entries: Array<{ target: string; detail: Record<string, unknown> }> }).entries;
    assert.equal(entry!.target, busy!.id);
    assert.equal(entry!.detail.refreshSession, true);
  });

  it('replays a time range asking FaceSign again: one call per session; a session FaceSign fails on is replayed as stored and reported', async () => {
    STATUSES.sess_left = 'complete';
    const calls = facesignApi.requests.length;
    const failing = facesignApi.reply;
    facesignApi.reply = (req, index) =>
      req.path.endsWith('/sess_done') ? { status: 500, body: JSON.stringify({ error: { type: 'api_error', message: API_KEY } }) } : failing(req, index);
    try {
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const reply = await fetch(`${herald.url}/api/events/replay`, {
        method: 'POST',
        headers: adminHeaders,
        body: JSON.stringify({ since, refreshSession: true }),
      });
      assert.equal(reply.status, 200);
      const text = await reply.text();
      assert.ok(!text.includes(API_KEY));
      const page = JSON.parse(text) as {
        events: number;
        byRule: Record<string, number>;
        sessions: { refreshed: number; failed: Array<{ sessionId: string; error: string }> };
      };
      assert.equal(page.events, 3);
      assert.equal(facesignApi.requests.length, calls + 3, 'one call per session');
      assert.equal(page.sessions.refreshed, 2);
      assert.deepEqual(
        page.sessions.failed.map((f) => [f.sessionId, f.error]),
        [['sess_done', 'the FaceSign API answered HTTP 500 api_error']],
      );
      // sess_done as stored (complete), sess_left and sess_busy now complete: three completed sessions.
      assert.deepEqual(page.byRule, { 'completed-sessions': 3 });
      const [left] = await herald.store.listEvents({ subject: 'sess_left' });
      assert.equal(left!.session!.status, 'complete');
      assert.equal(left!.outcome, 'completed');
      const audit = await fetch(`${herald.url}/api/audit?action=events.replay&order=desc&limit=1`, { headers: adminHeaders });
      assert.equal(((await audit.json()) as { entries: Array<{ detail: Record<string, unknown> }> }).entries[0]!.detail.refreshSession, true);
    } finally {
      facesignApi.reply = failing;
    }
  });

  it("replays a time range from the console's replay page with its checkbox: the dry run and the replay ask FaceSign again", async () => {
    STATUSES.sess_busy = 'incomplete';
    const cookie = await consoleSession(herald.url, 'alice', CONSOLE_PASSWORD);
    const since = new Date(Date.now() - 3_600_000).toISOString();

    const blank = await (await fetch(`${herald.url}/console/replay`, { headers: { cookie } })).text();
    assert.match(blank, /<input type="checkbox" name="refreshSession" value="1" *\/> Ask FaceSign for each session again/);
    const calls = facesignApi.requests.length;
    const plan = await (await fetch(`${herald.url}/console/replay?${new URLSearchParams({ since, refreshSession: '1' })}`, { headers: { cookie } })).text();
    assert.equal(facesignApi.requests.length, calls + 3, 'the dry run asks for each session');
    assert.match(plan, /3 session\(s\) fetched again from\s+FaceSign\./);
    assert.match(plan, /<input type="hidden" name="refreshSession" value="1" \/>/);
    assert.equal((await herald.store.listEvents({ subject: 'sess_busy' }))[0]!.session!.status, 'complete', 'a dry run stores nothing');

    const csrf = /name="_csrf" value="([^"]+)"/.exec(plan)![1]!;
    const started = await fetch(`${herald.url}/console/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf, since, until: '', rule: '', refreshSession: '1' }).toString(),
      redirect: 'manual',
    });
    assert.equal(started.status, 303);
    const job = started.headers.get('location')!;
    let progress = '';
    await waitUntil(async () => {
      progress = await (await fetch(`${herald.url}${job}`, { headers: { cookie } })).text();
      return progress.includes('Done.');
    });
    assert.match(progress, /asking FaceSign for each session again/);
    assert.match(progress, /3 session\(s\) fetched again from\s+FaceSign\./);
    assert.equal(facesignApi.requests.length, calls + 6);
    const [busy] = await herald.store.listEvents({ subject: 'sess_busy' });
    assert.equal(busy!.session!.status, 'incomplete');
    assert.equal(busy!.outcome, 'abandoned');
    const [entry] = await herald.store.listAudit({ actor: 'alice', action: 'events.replay' });
    assert.equal(entry!.detail!.refreshSession, true);
  });
});
