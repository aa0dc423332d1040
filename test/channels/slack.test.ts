/**
 * The Slack channel against a local server that answers like Slack's incoming
 * webhooks (https://api.slack.com/messaging/webhooks#handling_errors): 200 `ok`,
 * or an error code in the body. The message text picks the answer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { SlackChannel } from '../../src/channels/slack.js';
import type { SlackMessage } from '../../src/core/message.js';
import { EXCERPT_CHARS } from '../../src/channels/http-status.js';
import { startHttpSink, waitUntil, type HttpSink, type SinkReply, type SinkRequest } from '../helpers/sinks.js';
import {
  SLACK_TOKEN,
  attemptContext,
  closedPort,
  expectFailure,
  startConnectionCounter,
  startEndlessBodyServer,
  timed,
  type EndlessBodyServer,
  type ExpectedFailure,
} from './helpers.js';

// An hour ahead, computed when the file loads: the tests below may run minutes later in a long suite.
const RETRY_AT = new Date(Date.now() + 3_600_000).toUTCString();

/** What Slack answers, by the text of the message posted. */
const ANSWERS: Record<string, SinkReply> = {
  invalid_payload: { status: 400, body: 'invalid_payload' },
  action_prohibited: { status: 403, body: 'action_prohibited' },
  no_service: { status: 404, body: 'no_service' },
  channel_is_archived: { status: 410, body: 'channel_is_archived' },
  rate_limited: { status: 429, body: 'rate_limited', headers: { 'retry-after': '7' } },
  rate_limited_until: { status: 429, body: 'rate_limited', headers: { 'retry-after': RETRY_AT } },
  rollup_error: { status: 500, body: 'rollup_error' },
  moved: { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } },
  not_slack: { status: 200, body: '<html>Welcome to the hotel wifi</html>' },
  hang: { status: 200, hang: true },
};

function slackLike(request: SinkRequest): SinkReply {
  const { text } = JSON.parse(request.body) as { text: string };
  if (text === 'echo_path') return { status: 404, body: `Cannot POST ${request.path}` };
  return ANSWERS[text] ?? { status: 200, body: 'ok' };
}

const say = (text: string): SlackMessage => ({ channel: 'slack', payload: { text } });

describe('slack channel', () => {
  let slack: HttpSink;
  let channel: SlackChannel;
  beforeEach(async () => {
    slack = await startHttpSink(slackLike);
    const url = `${slack.url}/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`;
    channel = new SlackChannel({ name: 'compliance-slack', type: 'slack', options: { url, allowPrivateNetwork: true } });
  });
  afterEach(async () => {
    await channel.close();
    await slack.close();
  });

  it('posts the payload as JSON and succeeds on 200 ok', async () => {
    const message: SlackMessage = {
      channel: 'slack',
      payload: { text: 'Verification failed for evt_1', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*failed*' } }] },
    };
    assert.deepEqual(await channel.send(message, attemptContext()), { status: 200, excerpt: 'ok' });
    const [request] = slack.requests;
    assert.equal(request?.path, `/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request!.body), message.payload);
  });

  const permanent: Array<[string, number, 'client-error' | 'auth-error']> = [
    ['invalid_payload', 400, 'client-error'],
    ['action_prohibited', 403, 'auth-error'],
    ['no_service', 404, 'client-error'],
    ['channel_is_archived', 410, 'client-error'],
  ];
  for (const [code, status, reason] of permanent) {
    it(`fails ${status} ${code} permanently and names Slack's code`, async () => {
      const error = await expectFailure(channel.send(say(code), attemptContext()), { retryable: false, reason, status });
      assert.match(error.message, new RegExp(`^Slack answered HTTP ${status} ${code}`));
      assert.equal(error.details.excerpt, code);
    });
  }

  it('retries a 500', async () => {
    await expectFailure(channel.send(say('rollup_error'), attemptContext()), { retryable: true, reason: 'server-error', status: 500 });
  });

  it('retries a 429 no sooner than Retry-After, in seconds or as a date', async () => {
    const inSeconds = await expectFailure(channel.send(say('rate_limited'), attemptContext()), { retryable: true, reason: 'rate-limited', status: 429 });
    assert.equal(inSeconds.details.retryAfterMs, 7000);
    const untilDate = await expectFailure(channel.send(say('rate_limited_until'), attemptContext()), { retryable: true, reason: 'rate-limited', status: 429 });
    const wait = untilDate.details.retryAfterMs!;
    assert.ok(wait > 3_000_000 && wait <= 3_600_000, `waits ${wait} ms`);
  });

  it("keeps each attempt's Retry-After to itself when attempts overlap", async () => {
    const [inSeconds, untilDate] = await Promise.all([
      expectFailure(channel.send(say('rate_limited'), attemptContext()), { retryable: true, reason: 'rate-limited' }),
      expectFailure(channel.send(say('rate_limited_until'), attemptContext()), { retryable: true, reason: 'rate-limited' }),
    ]);
    assert.equal(inSeconds.details.retryAfterMs, 7000);
    assert.ok(untilDate.details.retryAfterMs! > 3_000_000);
  });

  it('fails a 2xx that is not "ok" permanently: the URL is not Slack', async () => {
    const error = await expectFailure(channel.send(say('not_slack'), attemptContext()), { retryable: false, reason: 'client-error', status: 200 });
    assert.equal(error.details.excerpt, '<html>Welcome to the hotel wifi</html>');
  });

  it('does not follow a redirect, and fails it permanently', async () => {
    await expectFailure(channel.send(say('moved'), attemptContext()), { retryable: false, reason: 'client-error', status: 302 });
    assert.equal(slack.requests.length, 1);
  });

  it("cuts a Slack that never answers at the attempt's time-out", async () => {
    const sending = channel.send(say('hang'), attemptContext({ timeoutMs: 300 }));
    const ms = await timed(expectFailure(sending, { retryable: true, reason: 'timeout' }));
    assert.ok(ms >= 290 && ms < 2000, `took ${ms} ms`);
  });

  it('retries a refused connection as a network error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`;
    const unreachable = new SlackChannel({ name: 'gone', type: 'slack', options: { url, allowPrivateNetwork: true } });
    await expectFailure(unreachable.send(say('hello'), attemptContext()), { retryable: true, reason: 'network' });
  });

  it('keeps the webhook URL out of an excerpt that echoes it', async () => {
    const error = await expectFailure(channel.send(say('echo_path'), attemptContext()), { retryable: false, reason: 'client-error', status: 404 });
    assert.equal(error.details.excerpt, 'Cannot POST [redacted]');
  });

  it('refuses a message rendered for another channel', async () => {
    await expectFailure(channel.send({ channel: 'email', subject: 's', text: 't' }, attemptContext()), { retryable: false, reason: 'render-failed' });
    assert.equal(slack.requests.length, 0);
  });

  it('fails an answer with a status HTTP does not have (999) permanently, like any unexpected status', async () => {
    const peer = createNetServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 999 Odd\r\ncontent-length: 2\r\n\r\nok')));
    peer.listen(0, '127.0.0.1');
    await once(peer, 'listening');
    const url = `http://127.0.0.1:${(peer.address() as AddressInfo).port}/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`;
    const odd = new SlackChannel({ name: 'odd', type: 'slack', options: { url, allowPrivateNetwork: true } });
    try {
      const error = await expectFailure(odd.send(say('hello'), attemptContext()), { retryable: false, reason: 'client-error', status: 999 });
      assert.match(error.message, /^Slack answered HTTP 999/);
    } finally {
      await odd.close();
      peer.close();
    }
  });

  /** How a 404 prints the token it was sent (the last path segment). */
  const tokenEchoes: Array<[string, (token: string) => string]> = [
    ['verbatim', (token) => token],
    ['percent-encoded', (token) => encodeURIComponent(token)],
    ['in base64', (token) => Buffer.from(token).toString('base64')],
    ['in base64url', (token) => Buffer.from(token).toString('base64url')],
    ['inside the base64 of the path (another byte alignment)', () => ''],
  ];
  for (const [how, echo] of tokenEchoes) {
    it(`stores no token when a 404 prints it ${how}`, async () => {
      slack.reply = (request) => {
        const token = request.path.split('/').pop()!;
        const printed = echo(token) || Buffer.from(`path=${request.path}`).toString('base64');
        return { status: 404, body: `token ${printed} is invalid` };
      };
      const error = await expectFailure(channel.send(say('hello'), attemptContext()), { retryable: false, reason: 'client-error', status: 404 });
      assert.match(error.details.excerpt!, /^token [A-Za-z0-9+/=]{0,12}\[redacted\][A-Za-z0-9+/=]{0,3} is invalid$/);
      if (how !== tokenEchoes.at(-1)![0]) assert.equal(error.details.excerpt, 'token [redacted] is invalid');
    });
  }
});

describe('slack channel to a private address', () => {
  const slackAt = (host: string, port: number, allowPrivateNetwork?: boolean) =>
    new SlackChannel({
      name: 'compliance-slack',
      type: 'slack',
      options: { url: `http://${host}:${port}/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`, allowPrivateNetwork },
    });

  for (const [host, address] of [
    ['127.0.0.1', '127.0.0.1'],
    ['localhost', '127.0.0.1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
  ] as const) {
    it(`refuses ${host} permanently, without connecting, and without the URL in the message`, async () => {
      const listener = await startConnectionCounter();
      const channel = slackAt(host, listener.port);
      try {
        const error = await expectFailure(channel.send(say('hello'), attemptContext()), { retryable: false, reason: 'refused-address' });
        assert.equal(
          error.message,
          `refused to connect to a private or loopback address (${address}): set allowPrivateNetwork: true on this destination if it is meant to be internal`,
        );
        assert.equal(listener.connections, 0);
      } finally {
        await channel.close();
        await listener.close();
      }
    });
  }

  it('posts there only when the destination sets allowPrivateNetwork: true', async () => {
    const slack = await startHttpSink(slackLike);
    const port = Number(new URL(slack.url).port);
    const closed = slackAt('127.0.0.1', port);
    const open = slackAt('127.0.0.1', port, true);
    try {
      await expectFailure(closed.send(say('hello'), attemptContext()), { retryable: false, reason: 'refused-address' });
      assert.equal(slack.requests.length, 0);
      assert.deepEqual(await open.send(say('hello'), attemptContext()), { status: 200, excerpt: 'ok' });
      assert.equal(slack.requests.length, 1);
    } finally {
      await Promise.all([closed.close(), open.close()]);
      await slack.close();
    }
  });
});

describe('slack channel against an answer without end', () => {
  const MiB = 1024 * 1024;
  let server: EndlessBodyServer;
  let channel: SlackChannel;
  afterEach(async () => {
    await channel.close();
    await server.close();
  });

  /** Sends one message to a server answering `status` with an endless body; the attempt's failure. */
  async function sendTo(status: number, expected: ExpectedFailure) {
    server = await startEndlessBodyServer(status);
    const url = `${server.url}/services/T0HERALD/B0HERALD/${SLACK_TOKEN}`;
    channel = new SlackChannel({ name: 'compliance-slack', type: 'slack', options: { url, allowPrivateNetwork: true } });
    const error = await expectFailure(channel.send(say('hello'), attemptContext()), expected);
    await waitUntil(() => server.hungUp || server.finished, 10_000, 'the answer to end');
    return error;
  }

  // The library reads whatever fetch returns to the end: 200 MB of it took herald from 121 MB to 757 MB.
  it('reads the head of a 200 that never ends, hangs up, and fails it as not Slack', async () => {
    const error = await sendTo(200, { retryable: false, reason: 'client-error', status: 200 });
    assert.ok(server.hungUp, `read all ${server.written} bytes`);
    assert.ok(server.written < 16 * MiB, `${server.written} bytes went out before herald hung up`);
    assert.equal(error.details.excerpt, 'x'.repeat(EXCERPT_CHARS));
  });

  it('reads the head of a 500 that never ends, hangs up, and retries it', async () => {
    const error = await sendTo(500, { retryable: true, reason: 'server-error', status: 500 });
    assert.ok(server.hungUp, `read all ${server.written} bytes`);
    assert.ok(server.written < 16 * MiB, `${server.written} bytes went out before herald hung up`);
    assert.equal(error.details.excerpt, 'x'.repeat(EXCERPT_CHARS));
  });
});
