/**
 * The slack-app channel against a local server that answers like Slack's Web
 * API (https://api.slack.com/web#errors): HTTP 200 with `{ ok: true, ... }` or
 * `{ ok: false, error }`, 429 with Retry-After, and 5xx from its edge. Threads
 * are kept in a real SQLite store.
 */
import assert from 'node:assert/strict';
import { SlackAppChannel } from '../../src/channels/slack-app.js';
import type { SlackMessage } from '../../src/core/message.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { startHttpSink, type HttpSink, type SinkReply, type SinkRequest } from '../helpers/sinks.js';
import { SLACK_TOKEN, assertNoSecrets, attemptContext, expectFailure } from './helpers.js';

const RETRY_AT = new Date(Date.now() + 3_600_000).toUTCString();
const json = (body: unknown, status = 200, headers: Record<string, string> = {}): SinkReply => ({
  status,
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
});

/** What the stand-in answers, by the text of the message posted. */
const ANSWERS: Record<string, SinkReply> = {
  channel_not_found: json({ ok: false, error: 'channel_not_found' }),
  not_in_channel: json({ ok: false, error: 'not_in_channel' }),
  invalid_auth: json({ ok: false, error: 'invalid_auth' }),
  internal_error: json({ ok: false, error: 'internal_error' }),
  rate_limited: json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': '7' }),
  rate_limited_until: json({ ok: false, error: 'ratelimited' }, 429, { 'retry-after': RETRY_AT }),
  edge_down: { status: 503, body: 'upstream connect error' },
  echo_token: json({ ok: false, error: 'invalid_auth', warning: `token ${SLACK_TOKEN} is not valid` }),
};

const params = (request: SinkRequest) => Object.fromEntries(new URLSearchParams(request.body));

function slackApiLike(request: SinkRequest, index: number): SinkReply {
  const { text, ts, channel } = params(request);
  if (request.path === '/api/chat.update') {
    return text === 'parent_gone' ? json({ ok: false, error: 'message_not_found' }) : json({ ok: true, channel, ts });
  }
  return ANSWERS[text ?? ''] ?? json({ ok: true, channel: 'C0TEAM', ts: `1795000000.00000${index}` });
}

const say = (text: string, thread?: SlackMessage['thread']): SlackMessage => ({ channel: 'slack', payload: { text }, ...(thread && { thread }) });

describe('slack-app channel', () => {
  let api: HttpSink;
  let store: SqliteStore;
  let channel: SlackAppChannel;
  const open = (options: Record<string, unknown> = {}) =>
    new SlackAppChannel(
      {
        name: 'team',
        type: 'slack-app',
        options: { token: SLACK_TOKEN, channel: '#kyc', slackApiUrl: `${api.url}/api`, allowPrivateNetwork: true, ...options },
      },
      { threads: store },
    );
  beforeEach(async () => {
    api = await startHttpSink(slackApiLike);
    store = new SqliteStore(':memory:');
    await store.migrate();
    channel = open();
  });
  afterEach(async () => {
    await channel.close();
    await api.close();
    await store.close();
  });

  it('posts text and blocks with the bot token to chat.postMessage', async () => {
    const message: SlackMessage = {
      channel: 'slack',
      payload: { text: 'Verification failed', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*failed*' } }] },
    };
    const result = await channel.send(message, attemptContext());
    assert.deepEqual(result, { status: 200, excerpt: '{"ok":true,"channel":"C0TEAM","ts":"1795000000.000000"}' });
    const [request] = api.requests;
    assert.equal(request!.path, '/api/chat.postMessage');
    assert.equal(request!.headers.authorization, `Bearer ${SLACK_TOKEN}`);
    const sent = params(request!);
    assert.equal(sent.channel, '#kyc');
    assert.equal(sent.text, 'Verification failed');
    assert.deepEqual(JSON.parse(sent.blocks!), message.payload.blocks);
  });

  const permanent: Array<[string, 'client-error' | 'auth-error', RegExp]> = [
    ['channel_not_found', 'client-error', /check the destination's channel/],
    ['not_in_channel', 'client-error', /invite the app/],
    ['invalid_auth', 'auth-error', /check the destination's token/],
  ];
  for (const [code, reason, hint] of permanent) {
    it(`fails ${code} permanently (${reason}) and says what to do`, async () => {
      const error = await expectFailure(channel.send(say(code), attemptContext()), { retryable: false, reason });
      assert.match(error.message, new RegExp(`^Slack answered ${code}`));
      assert.match(error.message, hint);
      assert.equal(api.requests.length, 1, 'the client retried nothing');
    });
  }

  it('retries internal_error and an HTTP 503 from the edge', async () => {
    await expectFailure(channel.send(say('internal_error'), attemptContext()), { retryable: true, reason: 'server-error' });
    await expectFailure(channel.send(say('edge_down'), attemptContext()), { retryable: true, reason: 'server-error', status: 503 });
    assert.equal(api.requests.length, 2, 'the client retried nothing');
  });

  it("retries a 429 no sooner than its Retry-After, in seconds or as a date, without the client's own wait", async () => {
    const seconds = await expectFailure(channel.send(say('rate_limited'), attemptContext()), { retryable: true, reason: 'rate-limited', status: 429 });
    assert.equal(seconds.details.retryAfterMs, 7000);
    const date = await expectFailure(channel.send(say('rate_limited_until'), attemptContext()), { retryable: true, reason: 'rate-limited', status: 429 });
    assert.ok(date.details.retryAfterMs! > 3_500_000 && date.details.retryAfterMs! <= 3_600_000, String(date.details.retryAfterMs));
    assert.equal(api.requests.length, 2);
  });

  it('scrubs the token from what Slack echoes back', async () => {
    const error = await expectFailure(channel.send(say('echo_token'), attemptContext()), { retryable: false, reason: 'auth-error' });
    assert.match(error.details.excerpt ?? '', /\[redacted\]/);
    assertNoSecrets(JSON.stringify(error.details));
  });

  it('refuses a slackApiUrl on a private address unless allowPrivateNetwork is set', async () => {
    const guarded = open({ allowPrivateNetwork: false });
    try {
      await expectFailure(guarded.send(say('hello'), attemptContext()), { retryable: false, reason: 'refused-address' });
      assert.equal(api.requests.length, 0);
    } finally {
      await guarded.close();
    }
  });

  it("makes a reply wait while another delivery is still sending the thread's first message", async () => {
    await store.claimThread({ destination: 'team', key: 't1:#kyc', deliveryId: 'dlv_first', now: Date.now() });
    // The first delivery exists and is pending: insert it the way routing does.
    const first = { id: 'dlv_first', rule: 'r', destination: 'team', template: 't', status: 'pending' as const, message: say('first') };
    const event = {
      specversion: '1.0' as const,
      id: 'evt_t1',
      source: 's',
      provider: 'facesign' as const,
      type: 't',
      category: 'verification' as const,
      outcome: null,
      subject: 'sess',
      time: new Date().toISOString(),
      receivedAt: new Date().toISOString(),
      providerEventId: null,
      datacontenttype: 'application/json' as const,
      data: {},
    };
    await store.insertEvent({ event, dedupeKey: 'evt_t1', dedupeUntilMs: Date.now() + 60_000 });
    await store.markRouted([{ eventId: 'evt_t1', rulesVersion: 'v', deliveries: [first] }]);

    const error = await expectFailure(channel.send(say('reply', { key: 't1' }), attemptContext({ deliveryId: 'dlv_reply' })), {
      retryable: true,
      reason: 'thread-pending',
    });
    assert.ok(error.details.retryAfterMs! > 0);
    assert.equal(api.requests.length, 0);

    await channel.send(say('first', { key: 't1' }), attemptContext({ deliveryId: 'dlv_first' }));
    await channel.send(say('reply', { key: 't1' }), attemptContext({ deliveryId: 'dlv_reply' }));
    assert.equal(params(api.requests[1]!).thread_ts, '1795000000.000000');
  });

  it('still replies when the first message can no longer be updated, and says so', async () => {
    await channel.send(say('first', { key: 't2' }), attemptContext({ deliveryId: 'dlv_a' }));
    const result = await channel.send(say('parent_gone', { key: 't2', updateParent: true }), attemptContext({ deliveryId: 'dlv_b' }));
    assert.match(result.excerpt ?? '', /the first message was not updated: Slack answered message_not_found/);
    assert.deepEqual(
      api.requests.map((r) => r.path),
      ['/api/chat.postMessage', '/api/chat.update', '/api/chat.postMessage'],
    );
    assert.equal(params(api.requests[2]!).thread_ts, '1795000000.000000');
  });
});
