/**
 * The console's HTML: values from payloads are always text, never markup;
 * and the session book and sign-in throttle keep time by an injected clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { silentLogger } from '../../src/core/log.js';
import { OPENAPI_FILE } from '../../src/http/admin-api.js';
import { consoleApp, CONSOLE_OPERATIONS } from '../../src/http/console/console-app.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { escapeHtml, html } from '../../src/http/console/html.js';
import { FAILURE_WINDOW_MS, LoginThrottle, MAX_FAILURES, SESSION_MAX_MS, SessionBook, type ConsoleSession } from '../../src/http/console/sessions.js';
import { destinationsView, eventsView, eventView, subjectView } from '../../src/http/console/views.js';

const XSS = `"><script>alert(1)</script><img src=x onerror=alert(2)>'\`{{7*7}}`;

const session = (role: ConsoleSession['role']): ConsoleSession => ({ user: `${XSS}`, role, csrf: 'csrf', createdAt: 0, lastSeenAt: 0 });

function hostileEvent(): NormalizedEvent {
  return {
    specversion: '1.0',
    id: '019a9c1e-7b2e-7c41-9a57-2f4d1c0e8b11',
    source: XSS,
    provider: 'legaltalent',
    type: XSS,
    category: 'verification',
    outcome: 'rejected',
    subject: XSS,
    time: '2026-01-01T00:00:00Z',
    receivedAt: '2026-01-01T00:00:00Z',
    providerEventId: XSS,
    media: { id: 'm', url: XSS, contentType: null, expires: null, archived: { url: `javascript:alert(3)` } } as NormalizedEvent['media'],
    session: { status: XSS },
    enrichment: { fetchedAt: null, attempts: 1, error: XSS },
    datacontenttype: 'application/json',
    data: { [XSS]: XSS, nested: { deeper: XSS } },
  };
}

/**
 * Every place the hostile value shows is one of its safe forms: escaped
 * text, escaped JSON, or URL-encoded in a link. Nothing of it is left once
 * those are taken out, so none of it became markup.
 */
function assertNoInjectedMarkup(text: string): void {
  assert.ok(text.includes(escapeHtml(XSS)), 'the value is shown, as text');
  const safeForms = [
    escapeHtml(JSON.stringify(XSS).slice(1, -1)),
    escapeHtml(XSS),
    escapeHtml(encodeURIComponent(XSS)),
    escapeHtml(new URLSearchParams({ v: XSS }).toString().slice(2)),
  ];
  const rest = safeForms.reduce((remaining, form) => remaining.split(form).join(''), text);
  assert.doesNotMatch(rest, /alert|javascript:/i, rest);
}

describe('console HTML', () => {
  it('escapes every value from an event, in text and in attributes, on every page that shows one', () => {
    const event = hostileEvent();
    const detail = { event, matchedRules: [XSS], routingErrors: [{ rule: XSS, error: XSS }], deliveries: [] };
    for (const role of ['viewer', 'reviewer', 'admin'] as const) {
      assertNoInjectedMarkup(eventView(detail, session(role), true, XSS).text);
      assertNoInjectedMarkup(subjectView(XSS, [detail], session(role), true).text);
    }
    const query = { source: XSS, provider: XSS, type: XSS, category: XSS, outcome: XSS, subject: XSS, since: XSS, until: XSS, delivery: XSS };
    assertNoInjectedMarkup(eventsView(query, { items: [event], nextCursor: XSS }, true).text);
  });

  it('says why each rule fired: its match and condition as loaded now, or that it is no longer loaded', () => {
    const event = { ...hostileEvent(), source: 'kyc', type: 'kyc.session.rejected', subject: 'sess_1' };
    const detail = { event, matchedRules: ['rejected-to-slack', 'gone'], routingErrors: [], deliveries: [] };
    const rules = [
      {
        name: 'rejected-to-slack',
        file: '10-kyc.yaml',
        match: { outcome: 'rejected' },
        when: 'event.data.score < 50',
        notify: [{ to: 'slack', template: 't' }],
        enabled: true,
        stop: false,
      },
    ];
    const text = eventView(detail, session('viewer'), false, undefined, rules)
      .text.replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ');
    assert.match(text, /rejected-to-slack matches \{&quot;outcome&quot;:&quot;rejected&quot;\} when &quot;event\.data\.score &lt; 50&quot; \(10-kyc\.yaml\)/);
    assert.match(text, /gone \(no longer loaded\)/);
  });

  it("shows each destination's delivery rate per minute, with its counts, and failures as errors", () => {
    const health = {
      name: 'crm',
      type: 'webhook',
      paused: false,
      breaker: 'closed' as const,
      pending: 3,
      oldestDueAt: null,
      deadLast24h: 0,
      lastError: null,
      rate: { windowMinutes: 5, delivered: 62, failed: 3, deliveredPerMinute: 12.4, failedPerMinute: 0.6 },
    };
    const page = destinationsView(
      [health, { ...health, name: 'quiet', rate: { ...health.rate, delivered: 0, failed: 0, deliveredPerMinute: 0, failedPerMinute: 0 } }],
      session('viewer'),
    ).text;
    assert.match(page, /<th scope="col">Per minute \(5 min\)<\/th>/);
    assert.match(page, /title="62 delivered, 3 failed in the last 5 minutes">12\.4 delivered, <span class="error">0\.6 failed<\/span>/);
    assert.match(page, /title="0 delivered, 0 failed in the last 5 minutes">0 delivered, 0 failed</);
  });

  it('inserts only html fragments as markup', () => {
    const fragment = html`<b>${'<i>'}</b>${html`<i>ok</i>`}${[html`<u></u>`, '<u>']}${null}${false}`;
    assert.equal(fragment.text, '<b>&lt;i&gt;</b><i>ok</i><u></u>&lt;u&gt;');
  });
});

describe('console sessions and sign-in throttle', () => {
  it('ends a session after its idle time, or after the longest session however active', () => {
    let now = 0;
    const book = new SessionBook(
      () => 60_000,
      () => now,
    );
    const { token } = book.create('alice', 'admin');
    now = 59_000;
    assert.equal(book.get(token)?.user, 'alice', 'a request restarts the idle time');
    now = 59_000 + 60_000;
    assert.equal(book.get(token), undefined);
    const long = book.create('alice', 'admin');
    for (now += 50_000; now < long.session.createdAt + SESSION_MAX_MS; now += 50_000) assert.ok(book.get(long.token));
    assert.equal(book.get(long.token), undefined);
    assert.equal(book.get('not-a-token'), undefined);
  });

  it('blocks a name, or an address, after too many wrong passwords until the oldest leaves the window', () => {
    let now = 0;
    const throttle = new LoginThrottle(() => now);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('rita', '10.0.0.1');
    assert.equal(throttle.waitMs('rita', '10.0.0.2'), 0);
    throttle.failed('rita', '10.0.0.1');
    assert.equal(throttle.waitMs('rita', '10.0.0.2'), FAILURE_WINDOW_MS, 'the name is blocked from any address');
    assert.equal(throttle.waitMs('alice', '10.0.0.1'), FAILURE_WINDOW_MS, 'the address is blocked for any name');
    assert.equal(throttle.waitMs('alice', '10.0.0.2'), 0);
    now = FAILURE_WINDOW_MS;
    assert.equal(throttle.waitMs('rita', '10.0.0.1'), 0);
  });
});

describe('console routes and the admin API', () => {
  it('maps every console route to the admin API operations it performs, each one in the OpenAPI document', () => {
    const app = consoleApp({
      store: undefined as never,
      deliver: undefined as never,
      routing: undefined as never,
      providers: {},
      settings: () => ({ users: [], sessionTimeoutMs: 60_000 }),
      log: silentLogger(),
    });
    assert.deepEqual([...app.routes].sort(), Object.keys(CONSOLE_OPERATIONS).sort(), 'every console route is in CONSOLE_OPERATIONS, and only those');
    const openapi = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, { operationId: string }>> };
    const documented = new Set(Object.values(openapi.paths).flatMap((methods) => Object.values(methods).map((o) => o.operationId)));
    for (const [route, operations] of Object.entries(CONSOLE_OPERATIONS)) {
      for (const operation of operations ?? []) assert.ok(documented.has(operation), `${route}: ${operation} is not in the OpenAPI document`);
    }
    // Every act (a POST) but signing in and out is one of the API's.
    const acts = Object.entries(CONSOLE_OPERATIONS).filter(
      ([route, operations]) => route.startsWith('POST ') && !/\/(login|logout)$/.test(route) && !operations?.length,
    );
    assert.deepEqual(acts, []);
  });
});
