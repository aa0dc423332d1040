/**
 * Thread settings in the config and the rules (README, "Threads"): the
 * slack-app destination's keys, `threadBy` on email and slack-app
 * destinations and notify entries, and `broadcast` / `updateParent` only
 * where a slack-app destination can honour them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import type { DestinationConfig } from '../../src/core/config.js';
import { ConfigError } from '../../src/core/errors.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import type { NotifyDefinition, RuleDefinition } from '../../src/core/rules.js';
import { deliveryPolicy } from '../../src/pipeline/mechanisms/delivery-policy.js';
import { batchThread, threadOf } from '../../src/pipeline/events/message-thread.js';
import { compileRules } from '../../src/routing/compile-rules.js';

const TOKEN = 'xoxb-1-CONFIGtokenPq27';

function withConfig<T>(lines: string[], use: (file: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'herald-threads-config-'));
  try {
    const file = path.join(dir, 'herald.config.yaml');
    writeFileSync(file, ['destinations:', ...lines].join('\n'));
    return use(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function configIssues(lines: string[]): Array<{ path: string; message: string }> {
  return withConfig(lines, (file) => {
    try {
      loadConfig(file, { SLACK_BOT_TOKEN: TOKEN });
    } catch (error) {
      if (error instanceof ConfigError) return error.issues.map(({ path, message }) => ({ path, message }));
      throw error;
    }
    return [];
  });
}

describe('thread settings', () => {
  it('loads a slack-app destination and threadBy on email', () => {
    withConfig(
      [
        '  team: { type: slack-app, token: "${SLACK_BOT_TOKEN}", channel: C0123456789, slackApiUrl: "http://127.0.0.1:9/api/", allowPrivateNetwork: true }',
        '  mail: { type: email, smtp: "smtp://127.0.0.1:25", from: "herald@example.com", to: [a@example.com], threadBy: [source, data.customer_reference] }',
        '  quiet: { type: email, smtp: "smtp://127.0.0.1:25", from: "herald@example.com", to: [a@example.com], threadBy: false }',
      ],
      (file) => {
        const config = loadConfig(file, { SLACK_BOT_TOKEN: TOKEN });
        assert.equal(config.destinations.team!.type, 'slack-app');
        assert.deepEqual(config.destinations.team!.options, {
          token: TOKEN,
          channel: 'C0123456789',
          slackApiUrl: 'http://127.0.0.1:9/api/',
          allowPrivateNetwork: true,
        });
        const threadBy = (name: string) => (config.destinations[name]!.options as { threadBy?: unknown }).threadBy;
        assert.deepEqual(threadBy('mail'), ['source', 'data.customer_reference']);
        assert.equal(threadBy('quiet'), false);
      },
    );
  });

  it('refuses a slack-app destination without token or channel, with a url, or with a slackApiUrl that is no http URL', () => {
    const issues = configIssues([
      '  a: { type: slack-app, channel: "#kyc" }',
      '  b: { type: slack-app, token: "${SLACK_BOT_TOKEN}" }',
      '  c: { type: slack-app, token: "${SLACK_BOT_TOKEN}", channel: "#kyc", url: "https://hooks.slack.com/services/T/B/X" }',
      '  d: { type: slack-app, token: "${SLACK_BOT_TOKEN}", channel: "#kyc", slackApiUrl: "ftp://slack.example.com/" }',
      '  e: { type: webhook, url: "https://crm.example.com", secret: "whsec_ZSeJCNHVnVR1A5eQOVQ9YZexDJ2bLWMdu02RvW/z62o=", threadBy: subject }',
      '  f: { type: email, smtp: "smtp://127.0.0.1:25", from: "herald@example.com", to: [a@example.com], threadBy: true }',
    ]);
    const paths = issues.map((issue) => issue.path);
    for (const expected of [
      'destinations.a',
      'destinations.b',
      'destinations.c.url',
      'destinations.d.slackApiUrl',
      'destinations.e.threadBy',
      'destinations.f.threadBy',
    ]) {
      assert.ok(paths.includes(expected), `${expected} in ${JSON.stringify(issues)}`);
    }
    assert.ok(
      issues.every((issue) => !issue.message.includes(TOKEN)),
      'the token is not repeated',
    );
  });

  describe('notify entries', () => {
    const destinations = new Map([
      ['team', 'slack-app'],
      ['mail', 'email'],
      ['hook', 'webhook'],
      ['chat', 'slack'],
    ] as const);
    const templates = new Map([['kyc', ['slack', 'email', 'webhook'] as const]]);
    const problemsOf = (notify: NotifyDefinition[]) => {
      const rule: RuleDefinition = { file: 'rules.yaml', index: 0, name: 'r', notify, stop: false, enabled: true };
      return compileRules([rule], { destinations, templates }).problems.map((p) => [p.path.join('.'), p.message]);
    };

    it('accepts threadBy on email and slack-app, and broadcast and updateParent on slack-app', () => {
      assert.deepEqual(
        problemsOf([
          { to: 'team', template: 'kyc', threadBy: 'data.customer_reference', broadcast: true, updateParent: true },
          { to: 'mail', template: 'kyc', threadBy: false },
        ]),
        [],
      );
    });

    it('refuses them where the destination has no threads', () => {
      assert.deepEqual(
        problemsOf([
          { to: 'mail', template: 'kyc', broadcast: true },
          { to: 'chat', template: 'kyc', updateParent: true, threadBy: 'subject' },
          { to: 'hook', template: 'kyc', threadBy: 'subject' },
        ]).map(([at]) => at),
        ['notify.0.broadcast', 'notify.1.updateParent', 'notify.1.threadBy', 'notify.2.threadBy'],
      );
    });
  });

  it("gives slack-app destinations Slack's pace, one rate limit per app and channel, without the token in its key", () => {
    const defaults = { timeoutMs: 10_000, retryMs: [5_000], maxAgeMs: 86_400_000, thread: false };
    const app = (name: string, channel: string, token = TOKEN) => deliveryPolicy({ name, type: 'slack-app', options: { token, channel } }, defaults);
    const [a, b, other, otherApp] = [app('a', '#kyc'), app('b', '#kyc'), app('c', '#ops'), app('d', '#kyc', 'xoxb-2-OTHER')];
    assert.deepEqual([a.concurrency, a.rate], [1, { count: 1, perMs: 1000 }]);
    assert.equal(a.rateKey, b.rateKey);
    assert.notEqual(a.rateKey, other.rateKey);
    assert.notEqual(a.rateKey, otherApp.rateKey);
    assert.ok(!a.rateKey.includes(TOKEN));
  });

  describe('thread keys', () => {
    const event = (subject: string | null, data: Record<string, unknown> = {}) => ({ subject, source: 'kyc', data }) as unknown as NormalizedEvent;
    const envelope = { smtp: 'smtp://127.0.0.1:25', from: 'herald@example.com', to: ['a@example.com'] };
    const mail: DestinationConfig = { name: 'mail', type: 'email', options: envelope };
    const notify = { to: 'mail', template: 'kyc' };

    it('keys by subject and destination by default, and leaves an event without a subject unthreaded', () => {
      const a = threadOf(event('sess_A'), notify, mail)!;
      assert.match(a.key, /^[0-9a-f]{32}$/);
      assert.equal(threadOf(event('sess_A', { other: 1 }), notify, mail)!.key, a.key);
      assert.notEqual(threadOf(event('sess_B'), notify, mail)!.key, a.key);
      assert.notEqual(threadOf(event('sess_A'), notify, { ...mail, name: 'audit' })!.key, a.key);
      assert.equal(threadOf(event(null), notify, mail), undefined);
      assert.equal(threadOf(event('sess_A'), notify, { name: 'hook', type: 'webhook', options: { url: 'https://crm.example.com' } }), undefined);
    });

    it("takes the notify entry's threadBy over the destination's, reading own properties only", () => {
      const byCustomer: DestinationConfig = { name: 'mail', type: 'email', options: { ...envelope, threadBy: 'data.customer' } };
      assert.equal(
        threadOf(event('sess_A', { customer: 'c1' }), notify, byCustomer)!.key,
        threadOf(event('sess_B', { customer: 'c1' }), notify, byCustomer)!.key,
      );
      assert.equal(threadOf(event('sess_A', { customer: 'c1' }), { ...notify, threadBy: false }, byCustomer), undefined);
      assert.equal(threadOf(event('sess_A'), { ...notify, threadBy: 'data.constructor' }, mail), undefined);
    });

    it("gives a batch's message the thread its events share, and none when they are of several threads or some are not known", () => {
      const a = threadOf(event('sess_A'), notify, mail)!;
      assert.deepEqual(batchThread([event('sess_A'), event('sess_A')], true, ['source'], notify, mail), a);
      assert.equal(batchThread([event('sess_A'), event('sess_B')], true, ['source'], notify, mail), undefined);
      assert.equal(batchThread([event('sess_A'), event(null)], true, ['source'], notify, mail), undefined);
      assert.equal(batchThread([], true, [], notify, mail), undefined, 'an empty digest');
      // Events over max are counted, not loaded: they share the thread only when the batch's key holds its paths.
      assert.deepEqual(batchThread([event('sess_A'), event('sess_A')], false, ['subject'], notify, mail), a);
      assert.equal(batchThread([event('sess_A'), event('sess_A')], false, ['source'], notify, mail), undefined);
      assert.equal(batchThread([event('sess_A')], true, ['subject'], { ...notify, threadBy: false }, mail), undefined);
    });
  });
});
