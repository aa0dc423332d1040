/**
 * The HTTP client of one Slack or webhook destination: undici's `fetch` (the
 * engine behind Node's built-in fetch) through an Agent of the destination's
 * own, which pools its keep-alive connections and, unless the destination sets
 * `allowPrivateNetwork: true`, refuses loopback, link-local and private
 * addresses when it connects (private-address.ts says which).
 *
 * Why the undici package rather than the built-in fetch: the guard has to sit
 * in the connector, and the built-in fetch only takes a connector through a
 * dispatcher built by the undici package, whose version need not match the one
 * inside Node. Why not node:http with a `lookup` option: @slack/webhook wants a
 * fetch-shaped function, and both channels read fetch Responses.
 *
 * Redirects are never followed (`redirect: 'manual'`, set here for both
 * channels): following one would send the message, and its signature, to an
 * address the config does not name.
 */
import { isIP } from 'node:net';
import { Agent, buildConnector, fetch, type Response } from 'undici';
import { guardLookup, isPrivateAddress, RefusedAddressError } from './private-address.js';

/** The parts of a request a channel chooses; the rest is OutboundHttp's. */
export interface OutboundRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
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

  /** Closes the pool: idle connections at once, busy ones after their request. */
  close(): Promise<void> {
    return this.agent.close();
  }
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
