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
 */
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { Agent, buildConnector, fetch, type Response } from 'undici';
import { EXCERPT_CHARS } from './http-status.js';
import { guardLookup, isPrivateAddress, RefusedAddressError } from './private-address.js';

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
  /** The first EXCERPT_CHARS characters of the body, reading no more of it. */
  excerpt: string;
}

export class OutboundHttp {
  private readonly agent: Agent;

  constructor(allowPrivateNetwork: boolean) {
    this.agent = allowPrivateNetwork ? new Agent() : new Agent({ connect: guardedConnector() });
  }

  /** `fetch(url, request)` over this destination's connections, never following a redirect. */
  fetch(url: string | URL, request: OutboundRequest): Promise<Response> {
    return fetch(url, { ...request, redirect: 'manual', dispatcher: this.agent });
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
        origin, path: pathname + search, method: request.method, headers: request.headers, body: request.body, signal: timeout,
      });
      const retryAfter = answer.headers['retry-after'];
      return { status: answer.statusCode, retryAfter: typeof retryAfter === 'string' ? retryAfter : null, excerpt: await excerptOf(answer.body) };
    } finally {
      timeout.clear();
    }
  }

  /** Closes the pool: idle connections at once, busy ones after their request. */
  close(): Promise<void> {
    return this.agent.close();
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

/** The start of a body; '' when it cannot be read (the status decides the outcome). */
async function excerptOf(body: AsyncIterable<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  try {
    for await (const chunk of body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length >= EXCERPT_CHARS) break;
    }
  } catch {
    // A body cut off by the time-out or the peer: keep what arrived.
  }
  return text.slice(0, EXCERPT_CHARS);
}

/**
 * undici's connector with the guarded lookup. A socket skips the lookup when
 * the URL's host is an IP literal (undici has already taken the brackets off
 * an IPv6 one), so that address is checked here before any connection.
 */
function guardedConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: guardLookup() });
  return (options, callback) => {
    const { hostname } = options;
    if (isIP(hostname) !== 0 && isPrivateAddress(hostname)) return callback(new RefusedAddressError(hostname), null);
    connect(options, callback);
  };
}
