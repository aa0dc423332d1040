/**
 * The HTTP client of one Slack or webhook destination: undici (the engine
 * behind Node's built-in fetch) through an Agent of the destination's own,
 * which pools its keep-alive connections and, unless the destination sets
 * `allowPrivateNetwork: true`, refuses loopback, link-local and private
 * addresses when it connects (private-address.ts says which). Slack goes
 * through `fetch`, webhooks through the leaner `send`.
 *
 * Why the undici package rather than the built-in fetch: the guard has to sit
 * in the connector, and the built-in fetch only takes a connector through a
 * dispatcher built by the undici package, whose version need not match the one
 * inside Node. Why not node:http with a `lookup` option: @slack/webhook wants a
 * fetch-shaped function.
 *
 * Redirects are never followed (`redirect: 'manual'` for fetch; undici's
 * request API never follows them): following one would send the message, and
 * its signature, to an address the config does not name.
 *
 * No answer is read past RESPONSE_HEAD_BYTES: a receiver (or whatever sits at
 * its address) may answer with an endless body, and @slack/webhook reads
 * whatever `fetch` returns to the end (`response.text()`). Both paths read the
 * head and drop the connection; `fetch` hands the library a Response holding
 * only that head.
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type * as Undici from 'undici';
import type { Agent, buildConnector, Response } from 'undici';
import { lazyLibrary } from '../core/lazy-library.js';
import { guardLookup, isPrivateAddress, RefusedAddressError } from './private-address.js';

/** Loaded at the first request: a command or a process that sends nothing never loads its hundred-odd modules. */
const undici = lazyLibrary<typeof Undici>('undici');

/** The parts of a request a channel chooses; the rest is OutboundHttp's. */
export interface OutboundRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What `send` read of an answer. */
export interface OutboundAnswer {
  status: number;
  retryAfter: string | null;
  /** The body's first RESPONSE_HEAD_BYTES bytes at most, decoded as UTF-8. */
  excerpt: string;
}

/**
 * The most of any answer's body herald reads. Enough for every excerpt (500
 * characters, and the secrets scrubbed from them) and for Slack's `ok` or error
 * code; small enough that a receiver streaming gigabytes costs nothing.
 */
export const RESPONSE_HEAD_BYTES = 4096;

/** An answer whose body is left to the caller (openStream). */
export interface StreamedAnswer {
  status: number;
  /** A response header's value (lower-case name), or null when absent or repeated. */
  header(name: string): string | null;
  body: AsyncIterable<Uint8Array>;
  /** Stops reading the body and drops its connection. */
  discard(): void;
}

/** Statuses whose Response may not have a body (the Fetch standard's null body statuses). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export class OutboundHttp {
  private pool?: Agent;

  /**
   * `maxResponseBytes`: how much of an answer `fetch` reads (default
   * RESPONSE_HEAD_BYTES). Slack's Web API answers chat.postMessage with the
   * whole message it posted, which the client parses as JSON: it needs all of it.
   */
  constructor(
    private readonly allowPrivateNetwork: boolean,
    private readonly maxResponseBytes = RESPONSE_HEAD_BYTES,
  ) {}

  /** The destination's connection pool, made at the first request. */
  private get agent(): Agent {
    if (!this.pool) {
      const { Agent } = undici();
      this.pool = this.allowPrivateNetwork ? new Agent() : new Agent({ connect: guardedConnector() });
    }
    return this.pool;
  }

  /**
   * `fetch(url, request)` over this destination's connections, never following
   * a redirect. The Response it resolves to holds at most the first
   * RESPONSE_HEAD_BYTES of the body: the rest is never read, and its connection
   * is dropped.
   */
  async fetch(url: string | URL, request: OutboundRequest): Promise<Response> {
    const { fetch, Response } = undici();
    const response = await fetch(url, { ...request, redirect: 'manual', dispatcher: this.agent });
    const head = await readHead(response.body, this.maxResponseBytes);
    // No statusText: nothing reads it, and a peer's odd reason phrase could make the constructor throw.
    const { status, headers } = response;
    // A Response cannot be built with a status beyond HTTP's 200-599 (fetch answers 1xx itself).
    if (status < 200 || status > 599) throw new UnusualStatusError(status);
    return new Response(NULL_BODY_STATUSES.has(status) ? null : head, { status, headers });
  }

  /**
   * One request through undici's request API, for the webhook channel: about a
   * quarter of fetch's CPU per request (bench/RESULTS.md: fetch copies the request
   * for a redirect it will never follow and wraps both bodies in web streams).
   * Gives up after `timeoutMs` in all: connecting, sending, waiting, reading.
   * Never follows a redirect.
   */
  async send(url: string, request: Omit<OutboundRequest, 'signal'> & { timeoutMs: number }): Promise<OutboundAnswer> {
    const { origin, pathname, search } = new URL(url);
    const timeout = new RequestTimeout(request.timeoutMs);
    try {
      const answer = await this.agent.request({
        origin,
        path: pathname + search,
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: timeout,
      });
      const retryAfter = answer.headers['retry-after'];
      return { status: answer.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, excerpt: decodeHead(await readHead(answer.body)) };
    } finally {
      timeout.clear();
    }
  }

  /**
   * A GET whose body the caller reads as a stream (the media archive, which
   * counts the bytes as they come and stops at its limit). `signal` ends
   * everything, the body included; a caller that stops reading early must
   * call `discard()`. Never follows a redirect.
   */
  async openStream(url: string, request: { headers?: Record<string, string>; signal: AbortSignal }): Promise<StreamedAnswer> {
    const { origin, pathname, search } = new URL(url);
    const answer = await this.agent.request({ origin, path: pathname + search, method: 'GET', headers: request.headers, signal: request.signal });
    const header = (name: string) => {
      const value = answer.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const { body } = answer;
    // Destroyed before its end, undici's body emits an AbortError: expected, so heard.
    const discard = () => {
      body.on('error', () => {});
      body.destroy();
    };
    return { status: answer.statusCode, header, body, discard };
  }

  /** Closes the pool: idle connections at once, busy ones after their request. */
  async close(): Promise<void> {
    await this.pool?.close();
  }
}

/** An answer whose status is not HTTP's (`HTTP/1.1 999`): `fetch` cannot hand it on as a Response. */
export class UnusualStatusError extends Error {
  constructor(readonly status: number) {
    super(`answered with status ${status}, which is not an HTTP status`);
    this.name = 'UnusualStatusError';
  }
}

/**
 * The time-out of one request, as the signal undici's request API takes: an
 * EventEmitter with `aborted` and `reason` (undici documents EventEmitter
 * signals). An AbortController per request cost more CPU than the request,
 * and its signals outlived their requests in the young generation, a third of
 * the heap growth while draining a backlog (bench/RESULTS.md).
 */
class RequestTimeout extends EventEmitter {
  aborted = false;
  reason: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => {
      // The reason AbortSignal.timeout() gives.
      this.reason = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
      this.aborted = true;
      this.emit('abort');
    }, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

/**
 * The first RESPONSE_HEAD_BYTES bytes of a body at most, stopping there: leaving
 * the loop early cancels the body, and undici closes a connection whose body
 * was not read to the end. Whatever arrived when the body failed (the
 * time-out, the peer hanging up) is kept: the status decides the outcome.
 */
async function readHead(body: AsyncIterable<Uint8Array> | null, maxBytes = RESPONSE_HEAD_BYTES): Promise<Uint8Array> {
  if (!body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for await (const chunk of body) {
      const wanted = maxBytes - length;
      chunks.push(chunk.length > wanted ? chunk.subarray(0, wanted) : chunk);
      length += Math.min(chunk.length, wanted);
      if (length >= maxBytes) break;
    }
  } catch {
    // Cut off: keep what arrived.
  }
  return Buffer.concat(chunks, length);
}

/** UTF-8 text of a head; a character cut in two at its end is left out. */
function decodeHead(head: Uint8Array): string {
  return new TextDecoder().decode(head, { stream: true });
}

/**
 * undici's connector with the guarded lookup. A socket skips the lookup when
 * the URL's host is an IP literal (undici has already taken the brackets off
 * an IPv6 one), so that address is checked here before any connection.
 */
function guardedConnector(): buildConnector.connector {
  const connect = undici().buildConnector({ lookup: guardLookup() });
  return (options, callback) => {
    const { hostname } = options;
    if (isIP(hostname) !== 0 && isPrivateAddress(hostname)) return callback(new RefusedAddressError(hostname), null);
    connect(options, callback);
  };
}
