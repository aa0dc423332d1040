/**
 * Slack through its Web API with a bot token (`slack-app` destinations), with
 * @slack/web-api's WebClient: `chat.postMessage`, and `chat.update` for
 * `updateParent`. The message is the Slack template's `text` and `blocks`, as
 * for an incoming webhook.
 *
 * Threads (README, "Threads"): the first message of a thread key goes to the
 * channel and its `ts` is kept in the store (core/threads.ts); the later ones
 * reply in its thread (`thread_ts`), also shown in the channel with
 * `broadcast` (`reply_broadcast`), and with `updateParent` the first message is
 * first edited to show the latest one (editing first: a retry edits again,
 * which changes nothing, before it replies once). A reply whose thread's first
 * message another delivery is still sending waits for it: a retryable
 * `thread-pending` failure.
 *
 * Retries are herald's: the client's own are off (`retries: 0`), and a 429 is
 * handed back at once (`rejectRateLimitedCalls`) with its Retry-After. Slack
 * answers errors with HTTP 200 and `{ ok: false, error }`
 * (https://api.slack.com/web#errors): the codes that mean a passing trouble
 * are retried; every other one (`channel_not_found`, `not_in_channel`,
 * `invalid_auth` ...) would fail again and is permanent.
 *
 * Requests go through the destination's OutboundHttp like the incoming-webhook
 * channel (slack.ts): no redirects, and no private addresses for `slackApiUrl`
 * unless `allowPrivateNetwork: true`; the same AsyncLocalStorage gives each
 * request its attempt's time limit and keeps the answer's status and headers.
 * The token is a secret: scrubbed from every message and excerpt, and the
 * client's own logger is silenced.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as SlackWebApi from '@slack/web-api';
import type { ChatPostMessageArguments, KnownBlock, Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { DestinationOf } from '../core/config.js';
import { lazyLibrary } from '../core/lazy-library.js';
import { DeliveryError } from '../core/errors.js';
import type { MessageThread, RenderedMessage, SlackMessage } from '../core/message.js';
import type { ThreadStore } from '../core/threads.js';
import { guardAttempt, wrongMessageError } from './attempt-guard.js';
import type { AttemptContext, Channel, ChannelDeps, SendResult } from './channel.js';
import { httpFailureError, MAX_RETRY_AFTER_MS, requestFailureError } from './http-status.js';
import { OutboundHttp } from './outbound-http.js';
import { SecretScrubber } from './secret-scrubber.js';

const PEER = 'Slack';
const DEFAULT_API_URL = 'https://slack.com/api/';
/** The most of an answer read: chat.postMessage echoes the message posted, up to 50 blocks. */
const MAX_ANSWER_BYTES = 1024 * 1024;
/** How long a reply waits (at least) for its thread's first message to be sent by another delivery. */
const THREAD_PENDING_RETRY_MS = 1000;

/**
 * Slack error codes that mean a passing trouble (https://api.slack.com/web#errors,
 * and each method's list): tried again on the schedule.
 */
const TRANSIENT_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** Codes that refuse the token rather than the message: someone must fix the token or the app. */
const AUTH_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'team_access_not_granted',
  'ekm_access_denied',
  'org_login_required',
]);
const HINTS: Record<string, string> = {
  channel_not_found: "check the destination's channel (an ID such as C0123456789 is safest)",
  not_in_channel: 'invite the app to the channel (/invite @app)',
  is_archived: 'the channel is archived: unarchive it or change the destination',
};

/** What our fetch needs from, and leaves for, the attempt that called it. */
interface AttemptRecord {
  timeoutMs: number;
  status?: number;
  headers?: Headers;
}

/** The client's logger, silenced: herald logs each attempt itself, and the client's lines could name a URL. */
const SILENT: SlackLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => 'error' as ReturnType<SlackLogger['getLevel']>,
  setName: () => {},
};

/** Loaded at the first send: a herald without a slack-app destination never loads it. */
const slackWebApi = lazyLibrary<typeof SlackWebApi>('@slack/web-api');

export class SlackAppChannel implements Channel {
  readonly type = 'slack-app' as const;
  private readonly newClient: () => WebClient;
  private webClient?: WebClient;
  private readonly channel: string;
  private readonly destination: string;
  private readonly threads: ThreadStore;
  private readonly secrets: SecretScrubber;
  private readonly attempts = new AsyncLocalStorage<AttemptRecord>();
  private readonly http: OutboundHttp;

  constructor(destination: DestinationOf<'slack-app'>, { threads }: ChannelDeps) {
    if (!threads) throw new Error('a slack-app channel needs the store to keep its threads');
    const { token, channel, slackApiUrl, allowPrivateNetwork } = destination.options;
    this.destination = destination.name;
    this.channel = channel;
    this.threads = threads;
    this.secrets = new SecretScrubber([token]);
    this.http = new OutboundHttp(allowPrivateNetwork === true, MAX_ANSWER_BYTES);
    this.newClient = () =>
      new (slackWebApi().WebClient)(token, {
        slackApiUrl: withTrailingSlash(slackApiUrl ?? DEFAULT_API_URL),
        // Method names only: never an absolute URL that would carry the token elsewhere.
        allowAbsoluteUrls: false,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        fetch: this.fetchForAttempt,
        logger: SILENT,
      });
  }

  /** The Web API client, made at the first send. */
  private get client(): WebClient {
    this.webClient ??= this.newClient();
    return this.webClient;
  }

  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult> {
    return guardAttempt(this.secrets, async () => {
      if (message.channel !== 'slack') throw wrongMessageError(this.type, message);
      const record: AttemptRecord = { timeoutMs: ctx.timeoutMs };
      return this.attempts.run(record, () => this.deliver(message, ctx, record));
    });
  }

  /** Closes this destination's connections once the sends in flight finish. */
  close(): Promise<void> {
    return this.http.close();
  }

  private async deliver(message: SlackMessage, ctx: AttemptContext, record: AttemptRecord): Promise<SendResult> {
    const { thread } = message;
    if (!thread) return (await this.post(message, record)).result;
    const key = `${thread.key}:${this.channel}`; // a new channel in the config starts new threads
    const claim = await this.threads.claimThread({ destination: this.destination, key, deliveryId: ctx.deliveryId, now: Date.now() });
    if (claim.parent !== null) return this.reply(message, thread, claim.parent, claim.parentChannel ?? this.channel, record);
    if (claim.owner !== ctx.deliveryId) {
      throw DeliveryError.retryable('thread-pending', "the thread's first message is not sent yet; this reply follows it", {
        retryAfterMs: THREAD_PENDING_RETRY_MS,
      });
    }
    const { result, ts, channel } = await this.post(message, record);
    // A failure to record it is retried: the thread would otherwise never get replies.
    await this.threads.setThreadParent({ destination: this.destination, key, owner: ctx.deliveryId, parent: ts, parentChannel: channel, now: Date.now() });
    return result;
  }

  /** A reply in the thread of `parent`, after editing the parent with `updateParent`. */
  private async reply(message: SlackMessage, thread: MessageThread, parent: string, parentChannel: string, record: AttemptRecord): Promise<SendResult> {
    let note = '';
    if (thread.updateParent) {
      try {
        await this.call(() => this.client.chat.update({ channel: parentChannel, ts: parent, ...content(message) }), record);
      } catch (error) {
        // The first message deleted or too old to edit: the reply still goes out.
        if (!(error instanceof DeliveryError) || error.retryable) throw error;
        note = `; the first message was not updated: ${error.message}`;
      }
    }
    const { result } = await this.post(message, record, { thread_ts: parent, ...(thread.broadcast && { reply_broadcast: true }) });
    return { ...result, excerpt: result.excerpt + note };
  }

  /** chat.postMessage: the message's `ts` and channel ID, and the attempt's result (whose excerpt says them). */
  private async post(
    message: SlackMessage,
    record: AttemptRecord,
    threading: Partial<ChatPostMessageArguments> = {},
  ): Promise<{ result: SendResult; ts: string; channel: string }> {
    const answer = await this.call(
      () => this.client.chat.postMessage({ channel: this.channel, ...content(message), ...threading } as ChatPostMessageArguments),
      record,
    );
    const { ts, channel } = answer as { ts?: string; channel?: string };
    if (typeof ts !== 'string' || typeof channel !== 'string') {
      throw DeliveryError.permanent('client-error', `${PEER} answered without the message's ts and channel: check the destination's slackApiUrl`);
    }
    return { result: { status: record.status ?? 200, excerpt: JSON.stringify({ ok: true, channel, ts }) }, ts, channel };
  }

  /** One Web API call, its failure turned into a DeliveryError (see the file comment). */
  private async call<T>(request: () => Promise<T>, record: AttemptRecord): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw webApiFailureError(error, record);
    }
  }

  /** The client's fetch, bound to the attempt running it. */
  private readonly fetchForAttempt = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const record = this.attempts.getStore();
    const { method = 'POST', headers, body } = init ?? {};
    const response = await this.http.fetch(url as string, {
      method,
      headers: headers as Record<string, string>,
      body: body as string | undefined, // chat.* methods post a URL-encoded form, never FormData
      signal: record && AbortSignal.timeout(record.timeoutMs),
    });
    if (record) {
      record.status = response.status;
      record.headers = response.headers;
    }
    return response as unknown as Response;
  };
}

/** What a Slack template rendered, as chat.* arguments. */
function content(message: SlackMessage): { text: string; blocks?: KnownBlock[] } {
  const { text, blocks } = message.payload;
  return { text, ...(blocks !== undefined && { blocks: blocks as KnownBlock[] }) };
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/** The DeliveryError for a failed Web API call; never holds the token (guardAttempt scrubs it anyway). */
export function webApiFailureError(error: unknown, record: Pick<AttemptRecord, 'status' | 'headers' | 'timeoutMs'>): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } = slackWebApi();
  if (error instanceof WebAPIPlatformError) return slackErrorCodeError(error.data.error, record.status ?? 200, JSON.stringify(error.data));
  if (error instanceof WebAPIRateLimitedError) {
    return DeliveryError.retryable('rate-limited', `${PEER} answered HTTP 429: rate limited`, {
      status: 429,
      retryAfterMs: Math.min(error.retryAfter * 1000, MAX_RETRY_AFTER_MS),
    });
  }
  if (error instanceof WebAPIHTTPError) {
    return httpFailureError(PEER, error.statusCode, {
      excerpt: typeof error.body === 'string' ? error.body : JSON.stringify(error.body),
      retryAfter: error.headers['retry-after'] ?? null,
    });
  }
  // A 429 whose Retry-After the client could not read: it throws a plain Error.
  if (record.status === 429) return httpFailureError(PEER, 429, { retryAfter: record.headers?.get('retry-after') });
  return requestFailureError(PEER, error instanceof WebAPIRequestError ? error.original : error, record.timeoutMs);
}

/** Slack's `{ ok: false, error }`: transient codes retried, auth codes permanent as auth-error, the rest permanent. */
function slackErrorCodeError(code: string, status: number, excerpt: string): DeliveryError {
  const safe = /^[a-z_]{1,64}$/.test(code) ? code : 'an unknown error';
  const details = { status, excerpt };
  if (TRANSIENT_ERRORS.has(code)) return DeliveryError.retryable(code.includes('rate') ? 'rate-limited' : 'server-error', `${PEER} answered ${safe}`, details);
  const hint = HINTS[code] ?? (AUTH_ERRORS.has(code) ? "check the destination's token and the app's scopes (chat:write)" : undefined);
  const message = `${PEER} answered ${safe}${hint ? `; ${hint}` : ''}`;
  return DeliveryError.permanent(AUTH_ERRORS.has(code) ? 'auth-error' : 'client-error', message, details);
}
