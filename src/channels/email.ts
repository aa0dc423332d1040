/**
 * Email over SMTP with nodemailer, through a pooled transport built from the
 * destination's `smtp` URL (smtp:// or smtps://, credentials and nodemailer's
 * query options in the URL), so a burst reuses a few connections instead of
 * logging in once per message.
 *
 * Classification (product spec, "Delivery"; RFC 5321 §4.2.1): a 4yz reply is
 * transient and retried; a 5yz reply is permanent, except 503 (bad sequence of
 * commands: the session, not the message, was wrong; nodemailer's
 * `isPermanentResponseCode` agrees); a refused login is permanent until someone
 * fixes the credentials; no connection or no answer is retried.
 */
import { createTransport } from 'nodemailer';
import type { DestinationOf, EmailOptions } from '../core/config.js';
import { DeliveryError } from '../core/errors.js';
import type { RenderedMessage } from '../core/message.js';
import { guardAttempt, wrongMessageError } from './attempt-guard.js';
import type { AttemptContext, Channel, SendResult } from './channel.js';
import { urlSecrets } from './destination-secrets.js';
import { SecretScrubber } from './secret-scrubber.js';

type Transport = ReturnType<typeof createPooledTransport>;

/** The fields nodemailer puts on the errors it hands back (NodemailerError). */
interface SmtpError extends Error {
  code?: string;
  /** The SMTP reply code, when the server answered. */
  responseCode?: number;
  /** The server's reply line. */
  response?: string;
}

const PEER = 'the SMTP server';
/** nodemailer's codes for "never got a (complete) answer". */
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'EABORT']);
/** Refused without an SMTP reply, for good: a bad option, address or message. */
const PERMANENT_CODES = new Set(['ECONFIG', 'EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS']);
/** Replies that refuse the login rather than the message (RFC 4954 §6). */
const AUTH_REPLIES = new Set([530, 534, 535, 538]);
/**
 * The longest server reply read before the connection is dropped (nodemailer's
 * default is 1 MB). A reply line is at most 512 octets (RFC 5321 §4.5.3.1.5);
 * the longest real reply, EHLO's list of extensions, is a few dozen lines.
 */
const MAX_REPLY_BYTES = 16 * 1024;

export class EmailChannel implements Channel {
  readonly type = 'email' as const;
  private readonly options: EmailOptions;
  private readonly secrets: SecretScrubber;
  private transport?: Transport;

  constructor(destination: DestinationOf<'email'>) {
    this.options = destination.options;
    this.secrets = new SecretScrubber(urlSecrets(this.options.smtp, { pathSegments: 'none', queryValues: false }));
  }

  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult> {
    return guardAttempt(this.secrets, async () => {
      if (message.channel !== 'email') throw wrongMessageError(this.type, message);
      const { from, to, cc, bcc } = this.options;
      try {
        // Built on first use: the pool's timeouts are per transport, and the
        // deliver stage passes the destination's one time-out with every attempt.
        this.transport ??= createPooledTransport(this.options.smtp, ctx.timeoutMs);
        const info = await this.transport.sendMail({
          from,
          to,
          cc,
          bcc,
          subject: message.subject,
          text: message.text,
          ...(message.html !== undefined && { html: message.html }),
          // One Message-ID for every attempt, so mail clients fold duplicates of a retry.
          messageId: `<${ctx.messageId}@herald>`,
          // The whole attempt, however slowly the server trickles its replies.
          signal: AbortSignal.timeout(ctx.timeoutMs),
        });
        // Some recipients may be refused while others accept: the message went
        // out, so this is a success; a retry would send it to the others again.
        const refused = info.rejected.length > 0 ? `; refused: ${info.rejected.join(', ')}` : '';
        return { excerpt: `${info.response}${refused}` }; // guardAttempt scrubs and cuts it
      } catch (error) {
        throw smtpFailureError(error as SmtpError, ctx.timeoutMs);
      }
    });
  }

  /** Closes the pool: idle connections at once, busy ones after their message. */
  async close(): Promise<void> {
    this.transport?.close();
  }
}

function createPooledTransport(url: string, timeoutMs: number) {
  // Keys beside `url` apply where the URL's query does not set them (nodemailer >= 10).
  return createTransport({
    url,
    pool: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    maxResponseSize: MAX_REPLY_BYTES,
  });
}

/** The DeliveryError for a failed send; the message holds the server's reply, never the URL. */
function smtpFailureError(error: SmtpError, timeoutMs: number): DeliveryError {
  const code = error.responseCode;
  const reply = error.response ?? error.message;
  const details = { excerpt: reply };
  if (TIMEOUT_CODES.has(error.code ?? '')) {
    return DeliveryError.retryable('timeout', `${PEER} did not finish within ${timeoutMs} ms`);
  }
  if (code !== undefined && code >= 400 && code <= 499) {
    return DeliveryError.retryable('server-error', `${PEER} deferred the message: ${reply}`, details);
  }
  if (error.code === 'EAUTH' || error.code === 'ENOAUTH' || (code !== undefined && AUTH_REPLIES.has(code))) {
    return DeliveryError.permanent('auth-error', `${PEER} refused the login: ${reply}; check the user and password in the destination's smtp URL`, details);
  }
  if (code === 503 || (code !== undefined && code < 400)) {
    return DeliveryError.retryable('server-error', `${PEER} answered out of sequence: ${reply}`, details);
  }
  if (code !== undefined) {
    return DeliveryError.permanent('client-error', `${PEER} refused the message: ${reply}; check the destination's from and to addresses`, details);
  }
  if (PERMANENT_CODES.has(error.code ?? '')) {
    return DeliveryError.permanent('client-error', `the message could not be sent: ${error.message}`);
  }
  return DeliveryError.retryable('network', `could not reach ${PEER}: ${error.message}`);
}
