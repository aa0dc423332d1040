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
 *
 * Threads (README, "Threads"; RFC 5322 §3.6.4): a message with a thread key
 * asks the store which delivery starts its thread. The first message carries
 * the thread's Message-ID, `<key.owner@herald.<from domain>>`, made from the
 * key and that delivery's id, and every other one `In-Reply-To` and
 * `References` pointing at it, so they need not wait for the first to be
 * sent: mail clients thread a reply that arrives before its parent. Every
 * other message keeps a Message-ID of its own, the same for every attempt of
 * one delivery.
 */
import type * as Nodemailer from 'nodemailer';
import type { DestinationOf, EmailOptions } from '../core/config.js';
import { DeliveryError } from '../core/errors.js';
import { lazyLibrary } from '../core/lazy-library.js';
import type { EmailMessage, RenderedMessage } from '../core/message.js';
import { guardAttempt, wrongMessageError } from './attempt-guard.js';
import type { ThreadStore } from '../core/threads.js';
import type { AttemptContext, Channel, ChannelDeps, SendResult } from './channel.js';
import { urlSecrets } from './destination-secrets.js';
import { SecretScrubber } from './secret-scrubber.js';

/** Loaded at the first send: a herald without an email destination never loads it. */
const nodemailer = lazyLibrary<typeof Nodemailer>('nodemailer');

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
  private readonly destination: string;
  private readonly threads: ThreadStore | undefined;
  /** The right-hand side of thread Message-IDs: herald.<the From address's domain>. */
  private readonly idDomain: string;

  constructor(destination: DestinationOf<'email'>, { threads }: ChannelDeps = {}) {
    this.options = destination.options;
    this.secrets = new SecretScrubber(urlSecrets(this.options.smtp, { pathSegments: 'none', queryValues: false }));
    this.destination = destination.name;
    this.threads = threads;
    this.idDomain = messageIdDomain(this.options.from);
  }

  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult> {
    return guardAttempt(this.secrets, async () => {
      if (message.channel !== 'email') throw wrongMessageError(this.type, message);
      const { from, to, cc, bcc } = this.options;
      // Before the try: a store failure is not the SMTP server's (guardAttempt makes it retryable).
      const thread = await this.threadHeaders(message, ctx);
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
          messageId: thread?.messageId ?? `<${ctx.messageId}@herald>`,
          ...(thread?.inReplyTo !== undefined && { inReplyTo: thread.inReplyTo, references: [thread.inReplyTo] }),
          // The whole attempt, however slowly the server trickles its replies.
          signal: AbortSignal.timeout(ctx.timeoutMs),
        });
        if (thread?.started) await this.recordStarted(message, ctx, thread.messageId!);
        // Some recipients may be refused while others accept: the message went
        // out, so this is a success; a retry would send it to the others again.
        const refused = info.rejected.length > 0 ? `; refused: ${info.rejected.join(', ')}` : '';
        return { excerpt: `${info.response}${refused}` }; // guardAttempt scrubs and cuts it
      } catch (error) {
        throw smtpFailureError(error as SmtpError, ctx.timeoutMs);
      }
    });
  }

  /**
   * The Message-ID, or In-Reply-To, of a threaded message (see the file
   * comment); undefined for one without a thread key or without a store.
   */
  private async threadHeaders(message: EmailMessage, ctx: AttemptContext): Promise<ThreadHeaders | undefined> {
    if (!message.thread || !this.threads) return undefined;
    const claim = await this.threads.claimThread({ destination: this.destination, key: message.thread.key, deliveryId: ctx.deliveryId, now: Date.now() });
    // With the owner in it, a thread pruned by the retention and started again gets a new id.
    const threadId = claim.parent ?? `<${message.thread.key}.${claim.owner}@${this.idDomain}>`;
    // The owner's retries keep the thread's Message-ID; it is recorded once, after the first send.
    if (claim.owner === ctx.deliveryId) return { messageId: threadId, started: claim.parent === null };
    return { inReplyTo: threadId, started: false };
  }

  /**
   * Records that the thread's first message went out, so that no later
   * message takes the thread's Message-ID even after this delivery is pruned.
   * A failure here is not the message's: it went out.
   */
  private async recordStarted(message: EmailMessage, ctx: AttemptContext, messageId: string): Promise<void> {
    await this.threads!.setThreadParent({
      destination: this.destination,
      key: message.thread!.key,
      owner: ctx.deliveryId,
      parent: messageId,
      parentChannel: null,
      now: Date.now(),
    }).catch(() => false);
  }

  /** Closes the pool: idle connections at once, busy ones after their message. */
  async close(): Promise<void> {
    this.transport?.close();
  }
}

/** How a threaded message refers to its thread. */
interface ThreadHeaders {
  messageId?: string;
  inReplyTo?: string;
  /** This message starts the thread: record it once sent. */
  started: boolean;
}

/** `herald.<domain>` of the From address (`herald <herald@example.com>`), or `herald` without one. */
function messageIdDomain(from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1];
  return domain ? `herald.${domain.toLowerCase()}` : 'herald';
}

function createPooledTransport(url: string, timeoutMs: number) {
  // Keys beside `url` apply where the URL's query does not set them (nodemailer >= 10).
  return nodemailer().createTransport({
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
