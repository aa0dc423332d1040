/**
 * The one place that turns an HTTP answer, or a request that got none, into a
 * retry decision and a reason, shared by the Slack and webhook channels (after
 * Alertmanager's notify retrier, whose reasons also label metrics).
 *
 * README, "Delivery": network errors, time-outs, 5xx, 408 and 429 are
 * retried, honouring Retry-After; other 4xx are permanent. Standard Webhooks
 * (docs/providers.md, "Outbound: Standard Webhooks"): 410 Gone means "disable this endpoint".
 */
import { DeliveryError, type DeliveryFailureReason } from '../core/errors.js';
import { UnusualStatusError } from './outbound-http.js';
import { RefusedAddressError } from './private-address.js';

/** Longest response excerpt kept with an attempt. */
export const EXCERPT_CHARS = 500;

/** A Retry-After beyond this is taken as this: the retry schedule's longest wait is 24 h. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** Whether a non-2xx status is worth retrying, and why it failed. */
export function classifyHttpFailure(status: number): { retryable: boolean; reason: DeliveryFailureReason } {
  if (status === 429) return { retryable: true, reason: 'rate-limited' };
  // 408: the receiver gave up waiting for our request; a later one may be quicker.
  if (status === 408) return { retryable: true, reason: 'timeout' };
  if (status >= 500 && status <= 599) return { retryable: true, reason: 'server-error' };
  if (status === 401 || status === 403) return { retryable: false, reason: 'auth-error' };
  // 410 (disable this endpoint), every other 4xx, and 3xx: redirects are never
  // followed, since following one would send the message (and its signature)
  // somewhere the config does not name.
  return { retryable: false, reason: 'client-error' };
}

/**
 * A Retry-After header (RFC 9110 §10.2.3) as a wait in ms from `nowMs`:
 * delta-seconds or an HTTP-date, at most 24 h, 0 for a date in the past,
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // All three HTTP-date forms start with a day name; this keeps Date.parse from
  // reading "-5" or "2024" as a date.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}

const HINTS: Array<[(status: number) => boolean, string]> = [
  [(s) => s >= 300 && s < 400, "herald does not follow redirects: set the destination's url to the final address"],
  [(s) => s === 410, 'the receiver says this endpoint is gone: update or remove the destination'],
  [(s) => s === 401 || s === 403, "the receiver refused herald's credentials: check the destination's url and secret"],
];

/** The failure for a non-2xx answer. `detail` is a short, safe word from the body (Slack's error code). */
export function httpFailureError(peer: string, status: number, answer: { detail?: string; excerpt?: string; retryAfter?: string | null }): DeliveryError {
  const { retryable, reason } = classifyHttpFailure(status);
  const retryAfterMs = parseRetryAfter(answer.retryAfter ?? null, Date.now());
  const hint = HINTS.find(([applies]) => applies(status))?.[1];
  const message = `${peer} answered HTTP ${status}${answer.detail ? ` ${answer.detail}` : ''}${hint ? `; ${hint}` : ''}`;
  return new DeliveryError(retryable, reason, message, {
    status,
    ...(answer.excerpt && { excerpt: answer.excerpt }),
    ...(retryAfterMs !== undefined && { retryAfterMs }),
  });
}

/** Errors whose presence anywhere in the cause chain means the attempt ran out of time. */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The failure for a request that got no answer: a time-out, or a network error
 * (ECONNREFUSED, ECONNRESET, ENOTFOUND, EAI_AGAIN, TLS ...), both retryable;
 * or a connection the private-address guard refused, which is permanent: the
 * destination's url and allowPrivateNetwork are config, which a retry does not
 * change. fetch wraps the cause ("fetch failed", cause: "connect ECONNREFUSED
 * ..."), and @slack/webhook wraps that again, so the whole `cause` chain is read.
 */
export function requestFailureError(peer: string, thrown: unknown, timeoutMs: number): DeliveryError {
  const chain = [thrown];
  for (let error = thrown; error instanceof Error && error.cause !== undefined && chain.length < 8;) {
    error = error.cause;
    chain.push(error);
  }
  const refused = chain.find((error): error is RefusedAddressError => error instanceof RefusedAddressError);
  if (refused) return DeliveryError.permanent('refused-address', refused.message);
  const unusual = chain.find((error): error is UnusualStatusError => error instanceof UnusualStatusError);
  if (unusual) return httpFailureError(peer, unusual.status, {});
  const timedOut = chain.some((error) => {
    const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
    return TIMEOUT_NAMES.has(String(name)) || TIMEOUT_CODES.has(String(code));
  });
  if (timedOut) return DeliveryError.retryable('timeout', `${peer} did not answer within ${timeoutMs} ms`);
  const innermost = chain[chain.length - 1];
  const why = innermost instanceof Error ? innermost.message : String(innermost);
  return DeliveryError.retryable('network', `could not reach ${peer}: ${why}`);
}
