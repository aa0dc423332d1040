/**
 * The webhook channel against a real receiver that checks every request with
 * the official `standardwebhooks` library, the way a customer's service would
 * (providers.md, "Outbound: Standard Webhooks").
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { WebhookChannel } from '../../src/channels/webhook.js';
import type { RenderedMessage, WebhookMessage } from '../../src/core/message.js';
import { EXCERPT_CHARS } from '../../src/channels/http-status.js';
import { startHttpSink, waitUntil, type HttpSink, type SinkReply, type SinkRequest } from '../helpers/sinks.js';
import {
  API_KEY,
  BEARER_TOKEN,
  WEBHOOK_SECRET,
  attemptContext,
  closedPort,
  expectFailure,
  startConnectionCounter,
  startEndlessBodyServer,
  timed,
  type ConnectionCounter,
} from './helpers.js';

const MESSAGE: WebhookMessage = {
  channel: 'webhook',
  body: { id: 'evt_1', type: 'verification.completed', data: { name: 'Zoë', score: 0.97 } },
  contentType: 'application/json',
};

/** Answers like a receiver built on standardwebhooks: 401 unless the signature verifies. */
function verifyingReceiver(otherwise: (request: SinkRequest) => SinkReply = () => ({ status: 204 })) {
  return (request: SinkRequest): SinkReply => {
    try {
      new Webhook(WEBHOOK_SECRET).verify(request.body, flat(request.headers));
    } catch {
      return { status: 401, body: 'bad signature' };
    }
    return otherwise(request);
  };
}

function flat(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}

function channelTo(url: string, headers?: Record<string, string>): WebhookChannel {
  const options = { url, secret: WEBHOOK_SECRET, format: 'standard' as const, allowPrivateNetwork: true, ...(headers && { headers }) };
  return new WebhookChannel({ name: 'crm', type: 'webhook', options });
}

describe('webhook channel', () => {
  let receiver: HttpSink;
  beforeEach(async () => {
    receiver = await startHttpSink(verifyingReceiver());
  });
  afterEach(() => receiver.close());

  it('posts the body exactly as signed, with the content type and the extra headers', async () => {
    receiver.reply = verifyingReceiver(() => ({ status: 200, body: 'accepted' }));
    const channel = channelTo(`${receiver.url}/hooks`, { 'X-Tenant': 'acme', Authorization: 'Bearer crm-token' });
    const result = await channel.send(MESSAGE, attemptContext());
    assert.deepEqual(result, { status: 200, excerpt: 'accepted' });
    const [request] = receiver.requests;
    assert.equal(request?.method, 'POST');
    assert.equal(request?.path, '/hooks');
    assert.equal(request?.body, JSON.stringify(MESSAGE.body));
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.equal(request?.headers['x-tenant'], 'acme');
    assert.equal(request?.headers['authorization'], 'Bearer crm-token');
    assert.equal(request?.headers['webhook-id'], 'msg_2f9c1');
    assert.ok(Math.abs(Number(request?.headers['webhook-timestamp']) - Date.now() / 1000) < 5);
    assert.deepEqual(new Webhook(WEBHOOK_SECRET).verify(request!.body, flat(request!.headers)), MESSAGE.body);
  });

  it('keeps the webhook-id across attempts, each attempt signed on its own', async () => {
    const channel = channelTo(receiver.url);
    await channel.send(MESSAGE, attemptContext({ attempt: 1 }));
    await channel.send(MESSAGE, attemptContext({ attempt: 2 }));
    const ids = receiver.requests.map((request) => request.headers['webhook-id']);
    assert.deepEqual(ids, ['msg_2f9c1', 'msg_2f9c1']);
    for (const request of receiver.requests) new Webhook(WEBHOOK_SECRET).verify(request.body, flat(request.headers));
  });

  it('lets no configured header replace the signature headers or the content type', async () => {
    const channel = channelTo(receiver.url, { 'Content-Type': 'text/plain', 'Webhook-Id': 'forged', 'webhook-signature': 'v1,forged' });
    const cloudEvent: RenderedMessage = { ...MESSAGE, contentType: 'application/cloudevents+json' };
    await channel.send(cloudEvent, attemptContext());
    const headers = receiver.requests[0]!.headers;
    assert.equal(headers['content-type'], 'application/cloudevents+json');
    assert.equal(headers['webhook-id'], 'msg_2f9c1');
    assert.match(String(headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('retries a 503, honouring Retry-After, and dead-letters a 400', async () => {
    receiver.reply = verifyingReceiver(() => ({ status: 503, body: 'maintenance', headers: { 'retry-after': '45' } }));
    const unavailable = await expectFailure(channelTo(receiver.url).send(MESSAGE, attemptContext()), { retryable: true, reason: 'server-error', status: 503 });
    assert.equal(unavailable.details.retryAfterMs, 45_000);
    assert.equal(unavailable.details.excerpt, 'maintenance');

    receiver.reply = verifyingReceiver(() => ({ status: 400, body: '{"error":"unknown event type"}' }));
    const refused = await expectFailure(channelTo(receiver.url).send(MESSAGE, attemptContext()), { retryable: false, reason: 'client-error', status: 400 });
    assert.equal(refused.details.excerpt, '{"error":"unknown event type"}');
  });

  it('takes 410 Gone as "disable this endpoint" and a refused signature as an auth error', async () => {
    receiver.reply = () => ({ status: 410 });
    await expectFailure(channelTo(receiver.url).send(MESSAGE, attemptContext()), { retryable: false, reason: 'client-error', status: 410 });
    // A receiver holding another secret refuses ours with 401.
    receiver.reply = (request) => {
      try {
        new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(request.body, flat(request.headers));
        return { status: 204 };
      } catch {
        return { status: 401 };
      }
    };
    await expectFailure(channelTo(receiver.url).send(MESSAGE, attemptContext()), { retryable: false, reason: 'auth-error', status: 401 });
  });

  it('does not follow a redirect, and fails it permanently', async () => {
    receiver.reply = (request) => (request.path === '/old' ? { status: 302, headers: { location: `${receiver.url}/new` } } : { status: 204 });
    await expectFailure(channelTo(`${receiver.url}/old`).send(MESSAGE, attemptContext()), { retryable: false, reason: 'client-error', status: 302 });
    assert.deepEqual(
      receiver.requests.map((request) => request.path),
      ['/old'],
    );
  });

  it('cuts a receiver that never answers at the time-out', async () => {
    receiver.reply = () => ({ status: 200, hang: true });
    const sending = channelTo(receiver.url).send(MESSAGE, attemptContext({ timeoutMs: 300 }));
    const ms = await timed(expectFailure(sending, { retryable: true, reason: 'timeout' }));
    assert.ok(ms >= 290 && ms < 2000, `took ${ms} ms`);
  });

  it('retries a refused connection as a network error', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hooks`;
    const error = await expectFailure(channelTo(url).send(MESSAGE, attemptContext()), { retryable: true, reason: 'network' });
    assert.match(error.message, /ECONNREFUSED/);
  });

  it('keeps the secret and the URL out of messages and excerpts, even when the receiver echoes them', async () => {
    receiver.reply = (request) => ({ status: 500, body: `failed ${request.path} with ${WEBHOOK_SECRET}` });
    const error = await expectFailure(channelTo(`${receiver.url}/hooks/crm-7f3a`).send(MESSAGE, attemptContext()), {
      retryable: true,
      reason: 'server-error',
      status: 500,
    });
    assert.equal(error.details.excerpt, 'failed [redacted] with [redacted]');
  });

  it('refuses a malformed secret when built, without repeating it', () => {
    assert.throws(
      () => new WebhookChannel({ name: 'crm', type: 'webhook', options: { url: receiver.url, secret: 'not-a-whsec-secret' } }),
      (error: Error) => /whsec_/.test(error.message) && !error.message.includes('not-a-whsec-secret'),
    );
  });
});

describe('webhook channel to a private address', () => {
  const refusedHosts: Array<[host: string, address: string, what: string]> = [
    ['127.0.0.1', '127.0.0.1', 'a loopback address'],
    ['localhost', '127.0.0.1', 'a name that resolves to loopback'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1', 'an IPv4-mapped loopback address'],
    ['[::1]', '::1', 'the IPv6 loopback address'],
    ['0.0.0.0', '0.0.0.0', 'the unspecified address'],
    ['2130706433', '127.0.0.1', '127.0.0.1 written as one number'],
  ];
  let listener: ConnectionCounter;
  beforeEach(async () => {
    listener = await startConnectionCounter();
  });
  afterEach(() => listener.close());

  for (const [host, address, what] of refusedHosts) {
    it(`refuses ${what} (${host}) permanently, without connecting`, async () => {
      const url = `http://${host}:${listener.port}/hooks/crm-7f3a`;
      const channel = new WebhookChannel({ name: 'crm', type: 'webhook', options: { url, secret: WEBHOOK_SECRET } });
      const error = await expectFailure(channel.send(MESSAGE, attemptContext()), { retryable: false, reason: 'refused-address' });
      assert.equal(
        error.message,
        `refused to connect to a private or loopback address (${address}): set allowPrivateNetwork: true on this destination if it is meant to be internal`,
      );
      assert.equal(listener.connections, 0);
      await channel.close();
    });
  }

  it('refuses a name that resolves to loopback over https too (TLS connects through the same lookup)', async () => {
    const url = `https://localhost:${listener.port}/hooks`;
    const channel = new WebhookChannel({ name: 'crm', type: 'webhook', options: { url, secret: WEBHOOK_SECRET } });
    await expectFailure(channel.send(MESSAGE, attemptContext()), { retryable: false, reason: 'refused-address' });
    assert.equal(listener.connections, 0);
    await channel.close();
  });

  it('delivers there only when the destination sets allowPrivateNetwork: true', async () => {
    const receiver = await startHttpSink(verifyingReceiver());
    try {
      for (const allowPrivateNetwork of [undefined, false]) {
        const closed = new WebhookChannel({ name: 'crm', type: 'webhook', options: { url: receiver.url, secret: WEBHOOK_SECRET, allowPrivateNetwork } });
        await expectFailure(closed.send(MESSAGE, attemptContext()), { retryable: false, reason: 'refused-address' });
        await closed.close();
      }
      assert.equal(receiver.requests.length, 0);
      const open = new WebhookChannel({ name: 'crm', type: 'webhook', options: { url: receiver.url, secret: WEBHOOK_SECRET, allowPrivateNetwork: true } });
      assert.equal((await open.send(MESSAGE, attemptContext())).status, 204);
      assert.equal(receiver.requests.length, 1);
      await open.close();
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook channel against an answer without end', () => {
  const MiB = 1024 * 1024;
  const expectations: Array<[number, string]> = [
    [200, 'delivers'],
    [500, 'retries'],
  ];
  for (const [status, verdict] of expectations) {
    it(`reads the head of a ${status} that never ends, hangs up, and ${verdict}`, async () => {
      const server = await startEndlessBodyServer(status);
      const channel = channelTo(`${server.url}/hooks`);
      try {
        const sending = channel.send(MESSAGE, attemptContext());
        const excerpt =
          status === 200 ? (await sending).excerpt : (await expectFailure(sending, { retryable: true, reason: 'server-error', status })).details.excerpt;
        assert.equal(excerpt, 'x'.repeat(EXCERPT_CHARS));
        await waitUntil(() => server.hungUp || server.finished, 10_000, 'the answer to end');
        assert.ok(server.hungUp, `read all ${server.written} bytes`);
        assert.ok(server.written < 16 * MiB, `${server.written} bytes went out before herald hung up`);
      } finally {
        await channel.close();
        await server.close();
      }
    });
  }
});

describe('webhook channel: a receiver that echoes the secrets it was sent', () => {
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const base64url = (text: string) => Buffer.from(text).toString('base64url');
  const rawQueryValue = (request: SinkRequest) => request.path.slice(request.path.indexOf('?key=') + '?key='.length);
  /** What the receiver prints after "401 invalid api key: ", by what it saw. */
  const echoes: Array<[string, (request: SinkRequest) => string]> = [
    ['the ?key= value verbatim', () => API_KEY],
    ['the ?key= value percent-encoded, as it arrived', rawQueryValue],
    [
      'the ?key= value percent-encoded in lower case',
      (request) =>
        rawQueryValue(request)
          .toLowerCase()
          .replace(/apikey/, 'apiKey')
          .replace(/zx9/, 'Zx9')
          .replace(/qw7/, 'Qw7')
          .replace(/lm$/, 'Lm'),
    ],
    ['the ?key= value in base64', () => base64(API_KEY)],
    ['the ?key= value in base64url', () => base64url(API_KEY)],
    ['the Authorization header', (request) => String(request.headers.authorization)],
    ['the bearer token alone', () => BEARER_TOKEN],
    ['the bearer token in base64', () => base64(BEARER_TOKEN)],
    ['the signing secret', () => WEBHOOK_SECRET],
  ];
  let receiver: HttpSink;
  let channel: WebhookChannel;
  beforeEach(async () => {
    receiver = await startHttpSink();
    channel = channelTo(`${receiver.url}/hooks?key=${encodeURIComponent(API_KEY)}`, { Authorization: `Bearer ${BEARER_TOKEN}` });
  });
  afterEach(async () => {
    await channel.close();
    await receiver.close();
  });

  for (const [what, echo] of echoes) {
    it(`stores no secret when a 401 prints ${what}`, async () => {
      receiver.reply = (request) => ({ status: 401, body: `invalid api key: ${echo(request)} (request ${request.headers['webhook-id']})` });
      const error = await expectFailure(channel.send(MESSAGE, attemptContext()), { retryable: false, reason: 'auth-error', status: 401 });
      assert.equal(error.details.excerpt, 'invalid api key: [redacted] (request msg_2f9c1)');
    });
  }

  it('stores no secret when the whole query is echoed inside base64 (the key at another byte alignment)', async () => {
    receiver.reply = (request) => ({ status: 401, body: `invalid: ${base64(`q=${request.path}`)}` });
    const error = await expectFailure(channel.send(MESSAGE, attemptContext()), { retryable: false, reason: 'auth-error', status: 401 });
    assert.match(error.details.excerpt!, /^invalid: [A-Za-z0-9+/=]{0,8}\[redacted\]/);
    const decodable = error.details.excerpt!.replace('invalid: ', '').split('[redacted]').join('');
    assert.ok(!Buffer.from(decodable, 'base64').toString('latin1').includes('Zx9+Qw7'), error.details.excerpt);
  });
});
