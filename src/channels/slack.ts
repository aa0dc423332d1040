/**
 * Slack incoming webhooks, through @slack/webhook's IncomingWebhook: one per
 * destination, with the library's retries off (herald's scheduler owns them).
 * Success is a 2xx whose body is `ok`; Slack's error bodies (`invalid_payload`,
 * `no_service`, `channel_is_archived`, `action_prohibited`, `invalid_token` ...)
 * come with a 4xx and are permanent; 429 and 5xx are retried.
 * https://api.slack.com/messaging/webhooks#handling_errors
 *
 * Two gaps in the library (8.0.x) are closed by the `fetch`
 * we hand it, which runs inside the attempt that called it:
 * - its HTTP error carries no response headers, so our fetch keeps them for
 *   Retry-After;
 * - its `timeout` is fixed per instance, so our fetch sets the attempt's own
 *   time limit instead (and we pass it none).
 * It also posts with `redirect: 'error'`, which would make a redirect look like
 * a retryable network error; our fetch is the destination's OutboundHttp, which
 * sends `redirect: 'manual'`, so a 3xx comes back as an HTTP error and is
 * classified permanent like anywhere else, and which refuses private addresses
 * unless the destination sets `allowPrivateNetwork: true`.
 * Attempts run concurrently (a destination's `concurrency`), hence the
 * AsyncLocalStorage: each call of our fetch finds its own attempt's record.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as SlackWebhook from '@slack/webhook';
import type { FetchFunction, IncomingWebhook, IncomingWebhookSendArguments } from '@slack/webhook';
import type { DestinationOf } from '../core/config.js';
import { lazyLibrary } from '../core/lazy-library.js';
import { DeliveryError } from '../core/errors.js';
import type { RenderedMessage } from '../core/message.js';
import { guardAttempt, wrongMessageError } from './attempt-guard.js';
import type { AttemptContext, Channel, SendResult } from './channel.js';
import { urlSecrets } from './destination-secrets.js';
import { httpFailureError, requestFailureError } from './http-status.js';
import { OutboundHttp } from './outbound-http.js';
import { SecretScrubber } from './secret-scrubber.js';

const PEER = 'Slack';

/** What our fetch needs from, and leaves for, the attempt that called it. */
interface AttemptRecord {
  timeoutMs: number;
  status?: number;
  headers?: Headers;
}

/** Loaded at the first send: a herald without a Slack destination never loads it. */
const slackWebhook = lazyLibrary<typeof SlackWebhook>('@slack/webhook');

export class SlackChannel implements Channel {
  readonly type = 'slack' as const;
  private readonly url: string;
  private webhook?: IncomingWebhook;
  /** The whole URL is a secret: whoever has it can post to the channel. */
  private readonly secrets: SecretScrubber;
  private readonly attempts = new AsyncLocalStorage<AttemptRecord>();
  private readonly http: OutboundHttp;

  constructor(destination: DestinationOf<'slack'>) {
    const { url, allowPrivateNetwork } = destination.options;
    this.secrets = new SecretScrubber(urlSecrets(url, { pathSegments: 'all', publicSegments: ['services'], queryValues: true }));
    this.http = new OutboundHttp(allowPrivateNetwork === true);
    this.url = url;
  }

  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult> {
    return guardAttempt(this.secrets, async () => {
      if (message.channel !== 'slack') throw wrongMessageError(this.type, message);
      const record: AttemptRecord = { timeoutMs: ctx.timeoutMs };
      const { IncomingWebhook, IncomingWebhookHTTPError } = slackWebhook();
      const webhook = (this.webhook ??= new IncomingWebhook(this.url, { retryConfig: { retries: 0 }, fetch: this.fetchForAttempt }));
      let text: string;
      try {
        const payload = message.payload as IncomingWebhookSendArguments;
        ({ text } = await this.attempts.run(record, () => webhook.send(payload)));
      } catch (error) {
        if (!(error instanceof IncomingWebhookHTTPError)) throw requestFailureError(PEER, error, ctx.timeoutMs);
        throw httpFailureError(PEER, error.statusCode, {
          detail: slackErrorCode(error.body),
          excerpt: error.body,
          retryAfter: record.headers?.get('retry-after'),
        });
      }
      // `text` is the answer's head (OutboundHttp reads no more); guardAttempt scrubs and cuts it.
      if (text.trim() !== 'ok') {
        // Slack always answers "ok"; anything else is not Slack (a wrong URL, a captive proxy).
        throw DeliveryError.permanent('client-error', `${PEER} answered HTTP ${record.status} without "ok": check the destination's url`, {
          ...(record.status !== undefined && { status: record.status }),
          excerpt: text,
        });
      }
      return { ...(record.status !== undefined && { status: record.status }), excerpt: text };
    });
  }

  /** Closes this destination's connections once the sends in flight finish. */
  close(): Promise<void> {
    return this.http.close();
  }

  /** The library's fetch, bound to the attempt running it (see the file comment). */
  private readonly fetchForAttempt: FetchFunction = async (url, init) => {
    const record = this.attempts.getStore();
    const { method = 'POST', headers, body } = init ?? {};
    const response = await this.http.fetch(url, {
      method,
      headers,
      body: body as string | undefined, // the library posts JSON.stringify(payload), never FormData
      signal: record && AbortSignal.timeout(record.timeoutMs),
    });
    if (record) {
      record.status = response.status;
      record.headers = response.headers;
    }
    return response;
  };
}

/** Slack's error body is a short code such as `channel_not_found`; anything else stays in the excerpt only. */
function slackErrorCode(body: string): string | undefined {
  const code = body.trim();
  return /^[a-z_]{1,64}$/.test(code) ? code : undefined;
}
