/**
 * The console's replay over plain HTTP (console-browser.test.ts drives the
 * same pages in chromium, with a rule that sends per event): events of a rule
 * that batches are planned and reported as added to batches, apart from
 * deliveries, and a range whose only rule batches can be replayed; a set of
 * rules is chosen with a checkbox each, and the dry run previews the first
 * messages it would send, rendered.
 */
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DestinationConfig } from '../../src/core/config.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { loadSample } from '../../src/providers/samples.js';
import { SHIPPED_TEMPLATES_DIR, testSources } from '../helpers/config.js';
import { event } from '../store/contract.js';
import { startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';
import { consoleSession } from '../helpers/console.js';

const PASSWORD = 'correct horse battery staple';
/** Cheaper than herald's default cost: the test is about replay, not about scrypt. */
const TEST_COST = { ln: 10, r: 8, p: 1 };
/** The group takes every event; the other two only approved KYC sessions, which the first test does not post. */
const RULES = `- name: per-session
  group: { by: [subject], wait: 3s, interval: 10m }
  notify: [{ to: hook, template: group-summary }]
- name: approved-to-hook
  match: { provider: legaltalent, type: kyc.session.approved }
  pii: include
  notify: [{ to: hook, template: whole-event }]
- name: approved-also
  match: { provider: legaltalent, type: kyc.session.approved }
  notify: [{ to: hook, template: whole-event }]
`;
const FULL_NAME = 'Ada Lovelace';

describe('console replay of events of a rule that batches', function () {
  this.timeout(30_000);
  let dir: string;
  let sink: HttpSink;
  let herald: TestHerald;
  let cookie: string;
  /** The stages' clock, ahead of real time: it stands still, so the group's message waits. */
  let clock: number;

  before(async () => {
    dir = tempDir('herald-console-replay-');
    writeFileSync(path.join(dir, 'rules.yaml'), RULES);
    const templates = path.join(dir, 'templates');
    cpSync(path.join(PACKAGE_ROOT, 'test/fixtures/batching/templates/group-summary'), path.join(templates, 'group-summary'), { recursive: true });
    // Without webhook.yaml a webhook message is the whole event, personal fields included for a rule with `pii: include`.
    cpSync(path.join(SHIPPED_TEMPLATES_DIR, 'session-finished'), path.join(templates, 'whole-event'), { recursive: true });
    sink = await startHttpSink();
    const hook: DestinationConfig = {
      name: 'hook',
      type: 'webhook',
      options: { url: `${sink.url}/crm`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true },
    };
    const users = [{ name: 'alice', passwordHash: await hashPassword(PASSWORD, TEST_COST), role: 'admin' as const }];
    clock = Date.now() + 60_000;
    herald = await startTestHerald(
      { rulesDir: dir, templatesDir: templates, destinations: { hook }, console: { users, sessionTimeoutMs: 30 * 60_000 } },
      { stageClock: () => clock },
    );
    cookie = await signIn();
  });
  after(async () => {
    await herald?.stop();
    await sink?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Signs alice in; returns the session cookie. */
  const signIn = () => consoleSession(herald.url, 'alice', PASSWORD);

  const page = async (url: string) => {
    const reply = await fetch(`${herald.url}${url}`, { headers: { cookie }, redirect: 'manual' });
    return { status: reply.status, location: reply.headers.get('location'), text: await reply.text() };
  };
  /** The page's text without its markup, spaces collapsed. */
  const words = (text: string) =>
    text
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim();

  it('shows a dry run that adds the events to batches, then replays them into the group and reports it', async () => {
    for (const id of ['evt_console_1', 'evt_console_2']) {
      const payload = { ...(loadSample('legaltalent', 'kyc.session.rejected') as Record<string, unknown>), id };
      assert.equal((await herald.postSigned(testSources().legaltalent, payload)).status, 200);
    }
    await waitUntil(async () => (await herald.store.unroutedEvents(10)).length === 0, 10_000, 'both events routed into their group');
    // The group's message goes out, so nothing waits in it.
    clock += 3_001;
    herald.batches.wake();
    await sink.waitFor(1);
    await waitUntil(async () => (await herald.store.nextBatchDueAt()) === undefined, 10_000, 'the group sent');

    const since = '2020-01-01T00:00:00Z';
    const dry = await page(`/console/replay?since=${encodeURIComponent(since)}&rule=per-session`);
    assert.equal(dry.status, 200);
    assert.match(
      words(dry.text),
      /2 event\(s\) in the range; a replay would make 0 deliveries and add 2 event\(s\) to batches, sent with their rules' next message\./,
    );
    assert.match(words(dry.text), /Rule Deliveries Batched per-session 0 2/);
    assert.match(dry.text, /<button type="submit">Replay 2 event\(s\)<\/button>/, 'a replay that only batches can be confirmed');
    assert.equal(await herald.store.nextBatchDueAt(), undefined, 'the dry run stored nothing');

    const csrf = /name="_csrf" value="([^"]+)"/.exec(dry.text)![1]!;
    const started = await fetch(`${herald.url}/console/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf, since, until: '', rule: 'per-session' }).toString(),
      redirect: 'manual',
    });
    assert.equal(started.status, 303);
    const job = started.headers.get('location')!;
    let progress = '';
    await waitUntil(async () => {
      progress = words((await page(`${job}/progress`)).text);
      return progress.includes('Done.');
    });
    assert.match(progress, /2 of 2 event\(s\) replayed, 0 deliveries made, 2 added to batches\. Done\./);
    assert.ok((await herald.store.nextBatchDueAt()) !== undefined, 'the events wait in their group');
  });

  it('replays the rules checked, after a dry run that previews the first messages rendered (personal data as the role may see it, audited)', async () => {
    // Two approved KYC sessions received in 2021, apart from the first test's events.
    const receivedAt = '2021-06-01T00:00:00.000Z';
    const ids: string[] = [];
    for (const subject of ['kyc_a', 'kyc_b']) {
      const e = event('kyc', {
        provider: 'legaltalent',
        type: 'kyc.session.approved',
        outcome: 'approved',
        subject,
        receivedAt,
        data: { id: `evt_${subject}`, data: { session_id: subject, extracted_data: { full_name: FULL_NAME } } },
      });
      await herald.store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
      await herald.store.markRouted([{ eventId: e.id, rulesVersion: 'v0', deliveries: [] }]);
      ids.push(e.id);
    }
    const checkbox = (rule: string, text: string) => new RegExp(`<input type="checkbox" name="rules" value="${rule}"\\s*(checked)?\\s*/>`).exec(text)?.[1];
    const form = await page('/console/replay');
    for (const rule of ['per-session', 'approved-to-hook', 'approved-also']) assert.equal(checkbox(rule, form.text), undefined, `${rule}: a box, not checked`);

    const range = `since=2021-01-01T00:00:00Z&until=2022-01-01T00:00:00Z`;
    const dry = await page(`/console/replay?${range}&rules=approved-to-hook&rules=per-session`);
    assert.equal(dry.status, 200);
    assert.equal(checkbox('approved-to-hook', dry.text), 'checked');
    assert.equal(checkbox('per-session', dry.text), 'checked');
    assert.equal(checkbox('approved-also', dry.text), undefined);
    assert.match(words(dry.text), /2 event\(s\) in the range; a replay would make 2 deliveries and add 2 event\(s\) to batches/);
    assert.match(words(dry.text), /Rule Deliveries Batched approved-to-hook 2 0 per-session 0 2/);
    // The preview: each planned message under a link to its event, rendered as it would be sent.
    const preview = dry.text.slice(dry.text.indexOf('id="preview"'));
    assert.match(words(preview), /The first 4 message\(s\) it would send/);
    for (const id of ids) assert.ok(preview.includes(`<a href="/console/events/${id}">`), `links to ${id}`);
    assert.match(words(preview), /approved-to-hook → hook \(whole-event\) pending/);
    assert.match(words(preview), /per-session → hook \(group-summary\) Joins the batch kyc_a/);
    assert.ok(!preview.includes('approved-also'), 'only the rules checked');
    // An admin may see personal data, as on the Rules page: the messages as sent, each event's reading audited.
    assert.ok(preview.includes(FULL_NAME), 'the webhook body with the personal field its rule includes');
    const reads = await herald.store.listAudit({ action: 'event.pii.read', actor: 'alice' });
    for (const id of ids)
      assert.ok(
        reads.some((r) => r.target === id),
        `the reading of ${id} audited`,
      );

    const csrf = /name="_csrf" value="([^"]+)"/.exec(dry.text)![1]!;
    const confirm = dry.text.slice(dry.text.indexOf('<form method="post" action="/console/replay"'));
    const hidden = [...confirm.matchAll(/<input type="hidden" name="rules" value="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(hidden, ['approved-to-hook', 'per-session'], 'the confirmation carries the rules checked');
    const body = new URLSearchParams({ _csrf: csrf, since: '2021-01-01T00:00:00Z', until: '2022-01-01T00:00:00Z' });
    for (const rule of hidden) body.append('rules', rule!);
    const started = await fetch(`${herald.url}/console/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: body.toString(),
      redirect: 'manual',
    });
    assert.equal(started.status, 303);
    const job = started.headers.get('location')!;
    let progress = '';
    await waitUntil(async () => {
      progress = words((await page(job)).text);
      return progress.includes('Done.');
    });
    assert.match(progress, /, rules approved-to-hook , per-session ,/);
    assert.match(progress, /2 of 2 event\(s\) replayed, 2 deliveries made, 2 added to batches\. Done\./);
    for (const id of ids) {
      const rules = (await herald.store.listDeliveries({ eventId: id })).map((d) => d.rule);
      assert.deepEqual(rules, ['approved-to-hook'], 'no delivery of the rule left unchecked');
    }
  });
});
