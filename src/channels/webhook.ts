/**
 * Outbound webhooks, signed with Standard Webhooks so receivers can check them
 * with the official libraries (docs/providers.md, "Outbound: Standard Webhooks").
 * Every attempt of a delivery carries the same `webhook-id` (the receiver's
 * dedupe key) and a fresh `webhook-timestamp` (receivers allow 5 minutes).
 *
 * Sent through the destination's own OutboundHttp: keep-alive connections,
 * no redirects, and no private addresses unless `allowPrivateNetwork: true`.
 */
import type { DestinationOf } from '../core/config.js';
import type { RenderedMessage } from '../core/message.js';
import { guardAttempt, wrongMessageError } from './attempt-guard.js';
import type { AttemptContext, Channel, SendResult } from './channel.js';
import { headerSecrets, urlSecrets } from './destination-secrets.js';
import { httpFailureError, requestFailureError } from './http-status.js';
import { OutboundHttp, type OutboundAnswer } from './outbound-http.js';
import { signingKeySecrets, type SigningKey } from '../core/signing-keys.js';
import { SecretScrubber } from './secret-scrubber.js';
import { destinationSigningKeys, parseDestinationSigningKeys, signStandardWebhook } from './standard-webhooks.js';

const PEER = 'the webhook receiver';

export class WebhookChannel implements Channel {
  readonly type = 'webhook' as const;
  private readonly url: string;
  /** Every request carries one signature per key (rotation; HMAC and Ed25519 side by side). */
  private readonly signingKeys: SigningKey[];
  /** The destination's extra headers, lower-cased, without the ones herald sets itself. */
  private readonly extraHeaders: Record<string, string>;
  private readonly secrets: SecretScrubber;
  private readonly http: OutboundHttp;

  constructor(destination: DestinationOf<'webhook'>) {
    const { options } = destination;
    this.signingKeys = parseDestinationSigningKeys(options); // fail at start-up, not at the first delivery
    this.url = options.url;
    this.secrets = new SecretScrubber([
      ...urlSecrets(options.url, { pathSegments: 'long', queryValues: true }),
      ...signingKeySecrets(destinationSigningKeys(options)),
      ...headerSecrets(options.headers ?? {}),
    ]);
    this.http = new OutboundHttp(options.allowPrivateNetwork === true);
    // Header names are case-insensitive: lower-case them, or a configured
    // "Content-Type" would be sent beside ours instead of losing to it.
    this.extraHeaders = Object.fromEntries(
      Object.entries(options.headers ?? {})
        .map(([name, value]) => [name.toLowerCase(), value])
        .filter(([name]) => name !== 'content-type' && !name!.startsWith('webhook-')),
    );
  }

  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult> {
    return guardAttempt(this.secrets, async () => {
      if (message.channel !== 'webhook') throw wrongMessageError(this.type, message);
      const body = JSON.stringify(message.body);
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        ...this.extraHeaders,
        'content-type': message.contentType,
        'webhook-id': ctx.messageId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signStandardWebhook(this.signingKeys, ctx.messageId, timestamp, body),
      };
      let answer: OutboundAnswer;
      try {
        answer = await this.http.send(this.url, { method: 'POST', headers, body, timeoutMs: ctx.timeoutMs });
      } catch (error) {
        throw requestFailureError(PEER, error, ctx.timeoutMs);
      }
      const { status, excerpt, retryAfter } = answer;
      if (status >= 200 && status < 300) return { status, excerpt };
      throw httpFailureError(PEER, status, { excerpt, retryAfter });
    });
  }

  /** Closes this destination's connections once the sends in flight finish. */
  close(): Promise<void> {
    return this.http.close();
  }
}
