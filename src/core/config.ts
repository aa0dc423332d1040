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
  /** FaceSign: its session API, which enriches events before routing (pipeline/enrich.ts). */
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

export interface DestinationConfig {
  name: string;
  type: 'slack' | 'email' | 'webhook';
  /** The rest of the destination's block, checked by its channel. */
  options: Record<string, unknown>;
}

/** Operational alerts: events herald raises about its own deliveries (pipeline/alert-*.ts). */
export interface AlertsConfig {
  enabled: boolean;
  /** At most one alert of a type about a destination this often, across every process on one store. */
  everyMs: number;
  /** A destination whose oldest due delivery has waited this long raises herald.queue.stale. */
  queueAgeMs: number;
  /** How often the queue and the dead letters are looked at. */
  checkEveryMs: number;
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
}
