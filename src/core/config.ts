/**
 * The loaded configuration, after environment substitution, defaults and
 * validation. Durations are milliseconds, sizes are bytes, paths are absolute.
 * The file format is described by schema/herald.config.schema.json.
 */
import type { ProviderId } from './event.js';

export type SignedPayload = 'timestamp.body' | 'body';
export type SignatureEncoding = 'hex' | 'base64';

export interface SourceConfig {
  name: string;
  provider: ProviderId;
  /** HMAC secrets; several during a rotation. Empty for FACEIO. */
  secrets: string[];
  /** FACEIO webhook tokens; several during a rotation. Empty for the HMAC providers. */
  tokens: string[];
  /** FACEIO: accept a token sent without the `Bearer ` prefix. */
  allowBareToken: boolean;
  /** Largest accepted distance between a signed timestamp and now. */
  toleranceMs: number;
  /** LegalTalent: what the HMAC covers. */
  signedPayload: SignedPayload;
  /** Owl Eyes: how the signature is written. */
  signatureEncoding: SignatureEncoding;
  /** How long a dedupe key is remembered. */
  dedupeWindowMs: number;
  /** Whether rules and templates see personal fields (issue 4 applies it everywhere). */
  pii: 'redact' | 'include';
  /** FaceSign: its session API, which enriches events before routing (pipeline/stages/enrich.ts). */
  api?: SessionApiConfig;
}

export interface SessionApiConfig {
  /** The base URL, without a trailing slash. */
  url: string;
  /** Sent as `Authorization: Bearer <key>`; never logged. */
  key: string;
  /** Event types to enrich: names, or globs where `*` stands for any characters. */
  enrich: string[];
  timeoutMs: number;
  /** Retrying stops this long after the event was received; it is then routed without the session. */
  giveUpAfterMs: number;
  /** Most calls per unit of time, as written (`10/s`): parsed by the enrich stage. */
  rate: string;
  allowPrivateNetwork: boolean;
}

/**
 * What every destination's block may set, whatever its type: how it is
 * delivered to (pipeline/mechanisms/delivery-policy.ts). Durations stay as
 * written; the delivery policy parses them.
 */
export interface DeliveryOptions {
  /** Overrides of the top-level `delivery` settings. */
  delivery?: { timeout?: string; retry?: string[]; maxAge?: string };
  /** Most deliveries in flight at once. */
  concurrency?: number;
  /** Most messages per unit of time, as written (`1/s`). */
  rate?: string;
  breaker?: { failures?: number; probe?: string[] };
}

/**
 * What makes messages one thread (README, "Threads"): event attribute paths
 * (`subject`, `data.x`), one or several; false: no threads.
 */
export type ThreadBy = string | string[] | false;

/** A `slack` destination's block: an incoming webhook. */
export interface SlackOptions extends DeliveryOptions {
  /** The incoming-webhook URL; a secret. */
  url: string;
  allowPrivateNetwork?: boolean;
}

/** An `email` destination's block: an SMTP server and the envelope. */
export interface EmailOptions extends DeliveryOptions {
  /** smtp:// or smtps://, credentials and nodemailer's options in the URL; a secret. */
  smtp: string;
  from: string;
  to: string[];
  cc?: string[];
  bcc?: string[];
  /** What makes emails one thread (default `subject`). */
  threadBy?: ThreadBy;
}

/** A `slack-app` destination's block: a bot token and Slack's Web API, one thread per subject. */
export interface SlackAppOptions extends DeliveryOptions {
  /** The bot token (xoxb-...); a secret. */
  token: string;
  /** A channel ID or name. */
  channel: string;
  /** The Web API's base URL (default https://slack.com/api/). */
  slackApiUrl?: string;
  /** What makes messages one thread (default `subject`). */
  threadBy?: ThreadBy;
  allowPrivateNetwork?: boolean;
}

/** A `webhook` destination's block: a Standard Webhooks receiver. */
export interface WebhookOptions extends DeliveryOptions {
  url: string;
  /** One signing key, or `secrets`: several (channels/standard-webhooks.ts reads both). */
  secret?: string;
  secrets?: string[];
  /** The body: the normalized event (default) or a CloudEvent. */
  format?: 'standard' | 'cloudevents';
  headers?: Record<string, string>;
  allowPrivateNetwork?: boolean;
}

/**
 * One destination, its options typed by its `type`: checking `type` tells a
 * channel which options it has, with no casts. The config schema checks each
 * type's keys (schema/herald.config.schema.json, `destination`).
 */
export type DestinationConfig =
  | { name: string; type: 'slack'; options: SlackOptions }
  | { name: string; type: 'slack-app'; options: SlackAppOptions }
  | { name: string; type: 'email'; options: EmailOptions }
  | { name: string; type: 'webhook'; options: WebhookOptions };

/** Every destination type. */
export const DESTINATION_TYPES = ['slack', 'slack-app', 'email', 'webhook'] as const satisfies ReadonlyArray<DestinationConfig['type']>;
/**
 * What a destination is: an incoming-webhook Slack channel, a Slack channel
 * posted to by a bot through the Web API (`slack-app`, which threads), email
 * or a webhook.
 */
export type DestinationType = DestinationConfig['type'];

/** The destination of one type. */
export type DestinationOf<T extends DestinationConfig['type']> = Extract<DestinationConfig, { type: T }>;

/** Operational alerts: events herald raises about its own deliveries (pipeline/alerts/). */
export interface AlertsConfig {
  enabled: boolean;
  /** At most one alert of a type about a destination this often, across every process on one store. */
  everyMs: number;
  /** A destination whose oldest due delivery has waited this long raises herald.queue.stale. */
  queueAgeMs: number;
  /** How often the queue and the dead letters are looked at. */
  checkEveryMs: number;
}

/**
 * The media archive (pipeline/stages/media-archive.ts; README, "Media archive"):
 * media events' files are downloaded before routing and served by herald
 * through signed links.
 */
export interface MediaConfig {
  /** Where the bytes are kept: a folder (absolute path), or the event store's database. */
  store: { kind: 'folder'; dir: string } | { kind: 'database' };
  /** Larger downloads are refused. */
  maxBytes: number;
  /** Host names media may be downloaded from (exact, lower case). */
  allowedHosts: string[];
  allowPrivateNetwork: boolean;
  /** How long a link in a message works. */
  linkTtlMs: number;
  /** One download gives up after this long. */
  timeoutMs: number;
  /** The secret links are signed with (a key is derived from it); absent: one herald generates and keeps in the store. */
  linkSecret?: string;
}

export interface HeraldConfig {
  /** Absolute path of the config file; other paths are relative to its folder. */
  file: string;
  server: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** A whole request (headers and body) must arrive within this. */
    requestTimeoutMs: number;
    /** How long shutdown waits for work in flight. */
    shutdownGraceMs: number;
    /** The operations listener: when set, /metrics and /api are served there and not on the webhook port. */
    admin?: { host: string; port: number };
    /** When set, GET /metrics needs it as a bearer token. */
    metricsToken?: string;
    /** The base of links herald puts in messages (archived media), without a trailing slash. */
    publicUrl?: string;
    /** Behind a reverse proxy: the client's address is the one the nearest proxy put in X-Forwarded-For. */
    trustProxy: boolean;
  };
  /** `sqlite:<path>` (path made absolute) or `postgres://...`. */
  store: string;
  rulesDir: string;
  templatesDir: string;
  retentionMs: number;
  sources: Record<string, SourceConfig>;
  destinations: Record<string, DestinationConfig>;
  delivery: {
    timeoutMs: number;
    retryMs: number[];
    maxAgeMs: number;
    /** Deliver on a thread of its own (a SQLite file store only): pipeline/deliver-thread.ts. */
    thread: boolean;
  };
  alerts: AlertsConfig;
  /** The web console; off without users. */
  console: ConsoleConfig;
  /** Absent: media events are routed with their provider's link, as received. */
  media?: MediaConfig;
}

/** What a console user may do: see (masked), also review personal data and media, also act (retry, replay, pause). */
export type ConsoleRole = 'viewer' | 'reviewer' | 'admin';

export interface ConsoleUser {
  name: string;
  /** scrypt, PHC string (core/password-hash.ts). */
  passwordHash: string;
  role: ConsoleRole;
}

export interface ConsoleConfig {
  /** Empty: the console is off (404). */
  users: ConsoleUser[];
  /** A session ends after this long without a request. */
  sessionTimeoutMs: number;
}
