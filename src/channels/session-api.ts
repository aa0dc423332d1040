/**
 * The client of FaceSign's session API (docs/providers.md, "FaceSign session API"): `GET
 * <url>/sessions/<id>` with `Authorization: Bearer <key>`, answering
 * `{ session: {...} }` or `{ error: { type, message } }`. It lives beside the
 * channels because it shares their outbound HTTP: the same private-address
 * guard (unless `allowPrivateNetwork`), no redirects followed (one would carry
 * the key elsewhere), and the same status and network-failure classification.
 * Failures are EnrichmentErrors whose messages never hold the key.
 */
import type { SessionApiConfig } from '../core/config.js';
import { EnrichmentError } from '../core/errors.js';
import { classifyHttpFailure, parseRetryAfter, requestFailureError } from './http-status.js';
import { OutboundHttp } from './outbound-http.js';

const PEER = 'the FaceSign API';
/** A session with a long transcript is large, but not this large: more is refused, not buffered. */
const MAX_ANSWER_CHARS = 2_000_000;

export class SessionApiClient {
  private readonly http: OutboundHttp;

  constructor(private readonly api: SessionApiConfig) {
    this.http = new OutboundHttp(api.allowPrivateNetwork);
  }

  /** The session object of the answer; throws EnrichmentError. */
  async fetchSession(sessionId: string, now: number): Promise<Record<string, unknown>> {
    try {
      return await this.request(sessionId, now);
    } catch (error) {
      // Whatever the failure's text is made of (a network error, the API's error type), never the key.
      if (error instanceof EnrichmentError && error.message.includes(this.api.key)) {
        throw new EnrichmentError(error.retryable, error.message.replaceAll(this.api.key, '[redacted]'), error.details);
      }
      throw error;
    }
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async request(sessionId: string, now: number): Promise<Record<string, unknown>> {
    const url = `${this.api.url}/sessions/${encodeURIComponent(sessionId)}`;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await this.http.fetch(url, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.api.key}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.api.timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      const failure = requestFailureError(PEER, error, this.api.timeoutMs);
      const message =
        failure.reason === 'refused-address'
          ? `${PEER} resolves to a private or loopback address: set api.allowPrivateNetwork: true on the source if it is meant to be internal`
          : failure.message;
      throw new EnrichmentError(failure.retryable, message);
    }
    const answer = parseAnswer(text);
    if (status < 200 || status > 299) {
      const { retryable } = classifyHttpFailure(status);
      const type = errorType(answer);
      throw new EnrichmentError(retryable, `${PEER} answered HTTP ${status}${type ? ` ${type}` : ''}`, {
        status,
        retryAfterMs: parseRetryAfter(retryAfter, now),
      });
    }
    const session = answer !== undefined && Object.hasOwn(answer, 'session') ? answer.session : undefined;
    if (session === null || typeof session !== 'object' || Array.isArray(session)) {
      throw new EnrichmentError(false, `${PEER} answered HTTP ${status} without a session object`);
    }
    return session as Record<string, unknown>;
  }
}

function parseAnswer(text: string): Record<string, unknown> | undefined {
  if (text.length > MAX_ANSWER_CHARS) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** FaceSign's error type (`rate_limit_error`, ...), if it is a plain word: it goes into stored messages. */
function errorType(answer: Record<string, unknown> | undefined): string | undefined {
  const error = answer !== undefined && Object.hasOwn(answer, 'error') ? answer.error : undefined;
  const type = error !== null && typeof error === 'object' && Object.hasOwn(error, 'type') ? (error as { type: unknown }).type : undefined;
  return typeof type === 'string' && /^[a-z_]{1,40}$/.test(type) ? type : undefined;
}
