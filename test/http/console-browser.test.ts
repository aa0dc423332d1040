/**
 * The web console in a real browser: Debian's chromium driven by
 * playwright-core, against an in-process herald with a real HTTP sink. One
 * browser for the file, one context (cookie jar) per user. Takes the README's
 * screenshots (docs/screenshots/).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ConsoleUser, DestinationConfig } from '../../src/core/config.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { newEventId } from '../../src/core/ids.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { MAX_FAILURES } from '../../src/http/console/sessions.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const CHROMIUM = '/usr/bin/chromium';
/**
 * The README's screenshots: taken on every run, into a temporary folder so a
 * test run leaves the checkout as it was; HERALD_UPDATE_SCREENSHOTS=1 writes
 * them to docs/screenshots/ (README, "Web console").
 */
const SCREENSHOTS =
  process.env.HERALD_UPDATE_SCREENSHOTS === '1' ? path.join(PACKAGE_ROOT, 'docs/screenshots') : mkdtempSync(path.join(tmpdir(), 'herald-screenshots-'));
const ONE_WEBHOOK_RULE = path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule');
/** The admin API's token: the console's audit entries are read back through GET /api/audit. */
const ADMIN_TOKEN = 'admin-token-for-the-console-test';
const PASSWORDS = { alice: 'alice-password-1234', rita: 'rita-password-1234', victor: 'victor-password-1234' };
/** A cheap scrypt cost for tests: the format and the check are the same. */
const TEST_COST = { ln: 10, r: 8, p: 1 };

function hook(url: string): DestinationConfig {
  return {
    name: 'hook',
    type: 'webhook',
    options: { url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true, delivery: { retry: ['1s'] } },
  };
}

describe('web console in chromium', function () {
  this.timeout(60_000);
  const sources = testSources();
  let browser: Browser;
  let herald: TestHerald;
  let sink: HttpSink;
  let broken = true;
  /** Added to the console's clock: sessions expire without waiting. */
  let clockOffsetMs = 0;
  let rejected: NormalizedEvent;
  let subject: string;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the console's browser tests need Debian's chromium at ${CHROMIUM}: apt-get install -y chromium (README, "What the tests need")`);
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // 400 while broken: a permanent failure, so the delivery goes dead at once.
    sink = await startHttpSink(() => (broken ? { status: 400, body: 'receiver says no' } : { status: 200, body: 'ok' }));
    const users: ConsoleUser[] = [
      { name: 'alice', passwordHash: await hashPassword(PASSWORDS.alice, TEST_COST), role: 'admin' },
      { name: 'rita', passwordHash: await hashPassword(PASSWORDS.rita, TEST_COST), role: 'reviewer' },
      { name: 'victor', passwordHash: await hashPassword(PASSWORDS.victor, TEST_COST), role: 'viewer' },
    ];
    herald = await startTestHerald(
      { destinations: { hook: hook(sink.url) }, rulesDir: ONE_WEBHOOK_RULE, console: { users, sessionTimeoutMs: 30 * 60_000 } },
      { consoleClock: () => Date.now() + clockOffsetMs, adminToken: ADMIN_TOKEN },
    );
    for (const type of ['kyc.session.created', 'kyc.session.rejected']) {
      assert.equal((await herald.postSigned(sources.legaltalent, loadSample('legaltalent', type))).status, 200);
    }
    await waitUntil(async () => (await herald.store.listDeliveries({ status: 'dead' })).length === 2, 10_000, 'two dead letters');
    [rejected] = (await herald.store.listEvents({ type: 'kyc.session.rejected' })) as [NormalizedEvent];
    subject = rejected.subject!;
    // An event whose media the archive has stored (the media archive fills event.media.archived).
    const withMedia = {
      ...rejected,
      id: newEventId(),
      type: 'kyc.session.document',
      receivedAt: new Date().toISOString(),
      media: {
        id: 'm1',
        url: 'https://provider.invalid/m1',
        contentType: 'image/png',
        expires: null,
        archived: { url: '/console/assets/archived-sample.png' },
      },
    } as NormalizedEvent;
    await herald.store.insertEvent({ event: withMedia, dedupeKey: withMedia.id, dedupeUntilMs: Date.now() + 60_000 });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await admin?.context.close();
    await browser?.close();
    await herald?.stop();
    await sink?.close();
  });

  /** A fresh context (its own cookies), signed in as `name`. */
  async function signIn(name: keyof typeof PASSWORDS): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${herald.url}/console/events`);
    assert.match(page.url(), /\/console\/login\?next=/);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(PASSWORDS[name]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/console\/events$/);
    return { context, page };
  }

  let admin: { context: BrowserContext; page: Page } | undefined;
  /** alice's session, signed in once for the tests that act as an admin; a context closed by a test is a no-op to close again. */
  async function asAdmin(): Promise<{ context: BrowserContext; page: Page }> {
    admin ??= await signIn('alice');
    return admin;
  }

  /** The session's CSRF token, as the page carries it for htmx. */
  const csrfOf = async (page: Page) => JSON.parse((await page.locator('body').getAttribute('hx-headers'))!)['x-csrf-token'] as string;

  it('is off without console users: /console answers 404', async () => {
    const bare = await startTestHerald({}, { stages: false });
    try {
      assert.equal((await fetch(`${bare.url}/console/login`)).status, 404);
    } finally {
      await bare.stop();
    }
  });

  it('a viewer searches a subject, opens its timeline with personal data masked and no media, and may not retry', async () => {
    const { context, page } = await signIn('victor');
    try {
      const csp = (await page.request.get(`${herald.url}/console/events`)).headers()['content-security-policy'];
      assert.match(csp!, /script-src 'self'/);
      await page.getByLabel('Subject').fill(subject);
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForURL(/subject=/);
      assert.equal(await page.locator('#rows tr').count(), 3);
      await page.locator('#rows').getByRole('link', { name: subject }).first().click();
      await page.waitForURL(/\/console\/subjects\//);
      assert.equal(await page.getByRole('link', { name: 'Show personal data and media' }).count(), 0);
      assert.equal(await page.locator('.thumb img').count(), 0);
      assert.match(await page.locator('main').innerText(), /reviewers can see it/);
      // No retry form for a viewer, and the action itself is refused.
      await page.goto(`${herald.url}/console/dead-letters`);
      assert.equal(await page.getByRole('button', { name: 'Retry selected' }).count(), 0);
      const [dead] = await herald.store.listDeliveries({ status: 'dead' });
      const refused = await page.request.post(`${herald.url}/console/dead-letters/retry`, {
        form: { _csrf: await csrfOf(page), ids: dead!.id, reason: 'trying' },
        maxRedirects: 0,
      });
      assert.equal(refused.status(), 403);
      assert.equal((await herald.store.getDelivery(dead!.id))!.status, 'dead');
    } finally {
      await context.close();
    }
  });

  it('a reviewer shows personal data and the archived media, and the viewing is audited', async () => {
    const { context, page } = await signIn('rita');
    try {
      await page.goto(`${herald.url}/console/subjects/${encodeURIComponent(subject)}`);
      await page.getByRole('link', { name: 'Show personal data and media' }).click();
      await page.waitForURL(/pii=include/);
      assert.equal(await page.locator('.thumb img').count(), 1);
      const reads = await herald.store.listAudit({ actor: 'rita', action: 'event.pii.read' });
      assert.equal(reads.length, 3);
      assert.deepEqual(reads[0]!.detail, { via: 'console', remoteAddress: '127.0.0.1' });
      // A reviewer does not see the audit log.
      assert.equal((await page.goto(`${herald.url}/console/audit`))!.status(), 403);
    } finally {
      await context.close();
    }
  });

  it('an admin retries a dead letter with a reason, sees it delivered, and finds it in the audit log', async () => {
    const { page } = await asAdmin();
    await page.goto(`${herald.url}/console/events`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'events.png') });
    await page.goto(`${herald.url}/console/subjects/${encodeURIComponent(subject)}`);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'timeline.png'), fullPage: true });
    broken = false;
    await page.goto(`${herald.url}/console/dead-letters`);
    const [dead] = await herald.store.listDeliveries({ status: 'dead', eventId: rejected.id });
    await page.getByLabel(`Select delivery ${dead!.id}`).check();
    await page.getByLabel('Reason (for the audit log)').fill('receiver fixed');
    await page.getByRole('button', { name: 'Retry selected' }).click();
    await page.waitForURL(/message=Retried/);
    await waitUntil(async () => (await herald.store.getDelivery(dead!.id))!.status === 'delivered', 10_000, 'the retried delivery delivered');
    assert.ok(
      sink.requests.some((r) => r.body.includes(rejected.id)),
      'the sink received the retried event',
    );
    await page.goto(`${herald.url}/console/events/${rejected.id}`);
    assert.match(await page.locator('main').innerText(), /delivered/);
    await page.goto(`${herald.url}/console/audit`);
    const audit = await page.locator('main').innerText();
    assert.match(audit, /delivery\.retry/);
    assert.match(audit, /receiver fixed/);
    assert.match(audit, /console\.login/);
    // The same list through the admin API.
    const api = await fetch(`${herald.url}/api/audit?actor=alice&order=desc`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const { entries } = (await api.json()) as { entries: Array<{ action: string; detail: Record<string, unknown> }> };
    const retry = entries.find((e) => e.action === 'delivery.retry')!;
    assert.deepEqual(retry.detail, { reason: 'receiver fixed', via: 'console', remoteAddress: '127.0.0.1' });
    assert.ok(entries.some((e) => e.action === 'console.login'));
  });

  it('an admin pauses and resumes a destination in place (htmx), each audited', async () => {
    const { page } = await asAdmin();
    await page.goto(`${herald.url}/console/destinations`);
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    assert.deepEqual(herald.deliver.paused(), ['hook']);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    assert.deepEqual(herald.deliver.paused(), []);
    const actions = (await herald.store.listAudit({ actor: 'alice', target: 'hook' })).map((e) => e.action);
    assert.deepEqual(actions, ['destination.pause', 'destination.resume']);
  });

  it('an admin replays a time range: a dry run first, then the replay with its progress, audited', async () => {
    const { page } = await asAdmin();
    const before = (await herald.store.listDeliveries({ limit: 1000 })).length;
    await page.getByRole('link', { name: 'Replay' }).click();
    await page.getByLabel('Since (UTC, required)').fill(new Date(Date.now() - 3_600_000).toISOString());
    await page.getByRole('checkbox', { name: 'everything-to-hook' }).check();
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.waitForURL(/since=/);
    assert.match(await page.locator('main').innerText(), /3 event\(s\) in the range; a replay would make 3 deliveries/);
    assert.match(await page.getByRole('region', { name: /message\(s\) it would send/ }).innerText(), /everything-to-hook → hook/);
    assert.equal((await herald.store.listDeliveries({ limit: 1000 })).length, before, 'a dry run stores nothing');
    await page.getByRole('button', { name: 'Replay 3 event(s)' }).click();
    await page.getByText('Done.').waitFor();
    assert.equal((await herald.store.listDeliveries({ limit: 1000 })).length, before + 3);
    assert.equal((await herald.store.listAudit({ actor: 'alice', action: 'events.replay' })).length, 1);
  });

  it('tests a stored event against the rules in force: the rules that fire and each rendered message', async () => {
    const { page } = await asAdmin();
    // The replay's dry run (an earlier test) may have read it for its preview already.
    const readsBefore = (await herald.store.listAudit({ actor: 'alice', action: 'event.pii.read', target: rejected.id })).length;
    await page.goto(`${herald.url}/console/events/${rejected.id}`);
    await page.getByRole('link', { name: 'Test this event against the rules in force' }).click();
    await page.getByRole('button', { name: 'Test' }).click();
    await page.getByText('Fires:').waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /Fires: everything-to-hook/);
    assert.match(text, /everything-to-hook → hook \(session-finished\)/);
    assert.ok(text.includes(rejected.id), 'the rendered webhook body is shown');
    // Through the admin API's operation (POST /api/rules/test): an admin's test of a stored event reads its personal data, audited.
    const reads = await herald.store.listAudit({ actor: 'alice', action: 'event.pii.read', target: rejected.id });
    assert.equal(reads.length, readsBefore + 1);
    assert.equal(reads.at(-1)!.detail?.via, 'console');
  });

  it('shows new events on the first page of events as they arrive (htmx polling)', async () => {
    // A session of its own: its pages' clock is playwright's (per context), so the 5 s poll comes when the test says.
    const { context, page } = await signIn('alice');
    try {
      await context.clock.install();
      await page.goto(`${herald.url}/console/events`);
      const enroll = page.locator('#rows').getByRole('link', { name: 'ENROLL', exact: true });
      assert.equal(await enroll.count(), 0);
      assert.equal((await herald.postSigned(sources.faceio, loadSample('faceio', 'ENROLL'))).status, 200);
      await context.clock.runFor(4_000);
      assert.equal(await enroll.count(), 0, 'polled before its 5 s');
      await context.clock.runFor(1_000);
      await enroll.waitFor({ timeout: 15_000 });
    } finally {
      await context.close();
    }
  });

  it('reads at 320 px: no page is wider than the screen', async () => {
    const { page } = await asAdmin();
    await page.setViewportSize({ width: 320, height: 640 });
    try {
      for (const url of [
        '/console/events',
        `/console/subjects/${encodeURIComponent(subject)}`,
        `/console/events/${rejected.id}`,
        '/console/dead-letters',
        '/console/destinations',
        '/console/replay',
        '/console/rules',
        '/console/audit',
      ]) {
        await page.goto(`${herald.url}${url}`);
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 320, `${url} is ${width} px wide`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('works with the keyboard alone: sign in, skip to the content, pause and resume a destination', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText || document.activeElement?.getAttribute('name'));
    try {
      await page.goto(`${herald.url}/console/login?next=%2Fconsole%2Fdestinations`);
      assert.equal(await focused(), 'name', 'the name field has the focus');
      await page.keyboard.type('alice');
      await page.keyboard.press('Tab');
      await page.keyboard.type(PASSWORDS.alice);
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/console\/destinations$/);
      // The first Tab reaches the skip link, shown and outlined while it has the focus.
      await page.keyboard.press('Tab');
      assert.equal(await focused(), 'Skip to content');
      const skip = await page.evaluate(() => {
        const box = document.activeElement!.getBoundingClientRect();
        return { left: box.left, outline: getComputedStyle(document.activeElement!).outlineStyle };
      });
      assert.ok(skip.left >= 0 && skip.outline !== 'none', JSON.stringify(skip));
      // Tab on until the Pause button has the focus, then Enter; then Resume the same way.
      for (const [button, paused] of [
        ['Pause', ['hook']],
        ['Resume', []],
      ] as const) {
        let presses = 0;
        while ((await focused()) !== button) {
          assert.ok(++presses < 30, `${button} is reachable with Tab`);
          await page.keyboard.press('Tab');
        }
        await page.keyboard.press('Enter');
        await page.getByRole('button', { name: button === 'Pause' ? 'Resume' : 'Pause' }).waitFor();
        assert.deepEqual(herald.deliver.paused(), paused);
      }
    } finally {
      await context.close();
    }
  });

  it('refuses a POST without the CSRF token (403)', async () => {
    const { page } = await asAdmin();
    const response = await page.request.post(`${herald.url}/console/destinations/hook/pause`, { form: { x: '1' }, maxRedirects: 0 });
    assert.equal(response.status(), 403);
    assert.deepEqual(herald.deliver.paused(), []);
  });

  it('ends a session after its idle time: the next page asks to sign in again', async () => {
    const { context, page } = await signIn('victor');
    try {
      clockOffsetMs += 31 * 60_000;
      await page.goto(`${herald.url}/console/dead-letters`);
      assert.match(page.url(), /\/console\/login\?next=%2Fconsole%2Fdead-letters/);
    } finally {
      await context.close();
    }
  });

  it('rate-limits wrong passwords for a name: then even the right one waits', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      const attempt = async (password: string) => {
        await page.goto(`${herald.url}/console/login`);
        await page.getByLabel('Name').fill('rita');
        await page.getByLabel('Password').fill(password);
        const [response] = await Promise.all([
          page.waitForResponse((r) => r.request().method() === 'POST'),
          page.getByRole('button', { name: 'Sign in' }).click(),
        ]);
        return response.status();
      };
      for (let i = 0; i < MAX_FAILURES; i++) assert.equal(await attempt('wrong password'), 401);
      assert.equal(await attempt(PASSWORDS.rita), 429);
      assert.match(await page.locator('main').innerText(), /Too many failed sign-ins/);
      const failed = await herald.store.listAudit({ action: 'console.login.failed', target: 'rita' });
      assert.equal(failed.length, MAX_FAILURES + 1);
    } finally {
      await context.close();
    }
  });
});
