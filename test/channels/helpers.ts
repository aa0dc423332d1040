/**
 * Shared pieces of the channel tests: distinctive secrets that must never show
 * up in an error or excerpt, an attempt context, and the assertion every
 * failure case goes through (which also checks for those secrets).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import type { AttemptContext } from '../../src/channels/channel.js';
import { DeliveryError, type DeliveryFailureReason } from '../../src/core/errors.js';

/** The secret part of the Slack webhook URL (the whole URL is a secret). */
export const SLACK_TOKEN = 'slackTokenZq7Xk29LmQ';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('herald-test-webhook-secret-0123456789').toString('base64')}`;
/** Written percent-encoded in the SMTP URL. */
export const SMTP_PASSWORD = 'smtp!Pw-Qx81vR';
export const SMTP_PASSWORD_IN_URL = encodeURIComponent(SMTP_PASSWORD);

/** A webhook receiver's API key, passed as `?key=`; `/`, `+` and `=` make its percent-encoded form differ. */
export const API_KEY = 'apiKey/Zx9+Qw7=Lm';
/** A webhook's configured `Authorization: Bearer` token. */
export const BEARER_TOKEN = 'crmBearer-7Hq2Vt9Kp';

const base64 = (text: string) => Buffer.from(text).toString('base64');
const SECRETS = [
  SLACK_TOKEN,
  WEBHOOK_SECRET,
  WEBHOOK_SECRET.slice('whsec_'.length),
  SMTP_PASSWORD,
  SMTP_PASSWORD_IN_URL,
  API_KEY,
  encodeURIComponent(API_KEY),
  BEARER_TOKEN,
  ...[SLACK_TOKEN, SMTP_PASSWORD, API_KEY, BEARER_TOKEN].map(base64),
];

export function assertNoSecrets(text: string): void {
  for (const secret of SECRETS) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
}

export function attemptContext(overrides: Partial<AttemptContext> = {}): AttemptContext {
  return { deliveryId: 'dlv_1', messageId: 'msg_2f9c1', attempt: 1, timeoutMs: 5000, ...overrides };
}

export interface ExpectedFailure {
  retryable: boolean;
  reason: DeliveryFailureReason;
  status?: number;
}

/** Awaits a send that must fail; checks the decision, and that no secret is in the message or excerpt. */
export async function expectFailure(sending: Promise<unknown>, expected: ExpectedFailure): Promise<DeliveryError> {
  const error = await sending.then(
    () => assert.fail('expected the send to fail'),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof DeliveryError, `expected a DeliveryError, got ${String(error)}`);
  const actual: ExpectedFailure = { retryable: error.retryable, reason: error.reason };
  if ('status' in expected) actual.status = error.details.status;
  assert.deepEqual(actual, expected, error.message);
  assertNoSecrets(`${error.message}\n${error.details.excerpt ?? ''}`);
  return error;
}

/** A loopback port nobody listens on (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** A loopback listener that only counts the TCP connections made to it (and drops them). */
export interface ConnectionCounter {
  port: number;
  connections: number;
  close(): Promise<void>;
}

export async function startConnectionCounter(): Promise<ConnectionCounter> {
  const server = createServer((socket) => {
    counter.connections++;
    socket.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const counter: ConnectionCounter = {
    port: (server.address() as AddressInfo).port,
    connections: 0,
    async close() {
      server.close();
      await once(server, 'close');
    },
  };
  return counter;
}

/** Milliseconds `promise` took to settle, whatever the outcome. */
export async function timed(promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await promise.catch(() => undefined);
  return Date.now() - started;
}

/**
 * An HTTP server that answers every request with `status` and a body it keeps
 * streaming until the client hangs up, or until `limitBytes` (the bound that
 * keeps a failing test from running forever). What matters is whether the
 * client hung up, and how much had been written by then (socket buffers
 * included, so a generous bound).
 */
export interface EndlessBodyServer {
  url: string;
  /** Body bytes written so far. */
  written: number;
  /** The client closed the connection before the body's end. */
  hungUp: boolean;
  /** The whole `limitBytes` went out: the client read it all. */
  finished: boolean;
  close(): Promise<void>;
}

export async function startEndlessBodyServer(status: number, body: { start?: string; limitBytes?: number } = {}): Promise<EndlessBodyServer> {
  const limit = body.limitBytes ?? 64 * 1024 * 1024;
  const filler = Buffer.alloc(64 * 1024, 'x');
  const server = createHttpServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.on('close', () => {
      if (!res.writableFinished) state.hungUp = true;
    });
    const pump = () => {
      while (!res.destroyed && state.written < limit) {
        const chunk = state.written === 0 && body.start ? Buffer.from(body.start) : filler;
        state.written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end(() => (state.finished = true));
    };
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const state: EndlessBodyServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    written: 0,
    hungUp: false,
    finished: false,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return state;
}
