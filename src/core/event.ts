/**
 * The normalized event: the one shape every provider's webhook becomes, and
 * what rules and templates see. Attribute names follow CloudEvents 1.0 where
 * they fit (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md).
 */

/** The providers whose webhooks herald receives: what a configured source can name. */
export const PROVIDER_IDS = ['facesign', 'faceio', 'legaltalent', 'owleyes'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/**
 * herald itself, as the source and provider of its operational alerts: events
 * it raises about its own deliveries, never received over HTTP.
 */
export const HERALD = 'herald';
/** Who an event comes from: a webhook provider, or herald (its operational alerts). */
export type EventProviderId = ProviderId | typeof HERALD;

export const CATEGORIES = ['verification', 'identity', 'media', 'analysis', 'settings', 'watchlist', 'operations'] as const;
export type Category = (typeof CATEGORIES)[number];

export const OUTCOMES = [
  'started',
  'completed',
  'approved',
  'rejected',
  'review',
  'failed',
  'expired',
  'abandoned',
  'enrolled',
  'authenticated',
  'deleted',
  'match',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface EventMedia {
  id: string;
  url: string;
  contentType: string | null;
  /** RFC 3339; FaceSign media URLs expire 15 minutes after generation. */
  expires: string | null;
  /**
   * herald's copy of the file (pipeline/stages/media-archive.ts), once the archive
   * was tried: null when it failed (`archiveError` says why). Absent when
   * there is no archive (no `media` section) or it has not run yet.
   */
  archived?: ArchivedMedia | null;
  /** Why there is no archived copy: a short reason, never the URL. */
  archiveError?: string;
}

/** A media file as herald keeps it. Templates also see `url`, a signed link to it (added when the event is routed). */
export interface ArchivedMedia {
  /** herald's id of the file (the event's id: one file per event). */
  id: string;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
  bytes: number;
  contentType: string;
  /** When it was archived (RFC 3339). */
  archivedAt: string;
  /** `<server.publicUrl>/media/<id>?exp=<unix s>&sig=<hmac>`: only in what rules and templates see. */
  url?: string;
  /** Until when `url` works (RFC 3339): `media.linkTtl` after the message was made. Beside `url` only. */
  linkExpires?: string;
}

/**
 * How herald enriched an event from its provider's API before routing it
 * (FaceSign's session API: pipeline/stages/enrich.ts); the stored record, so a replay
 * shows what rules saw without asking the provider again.
 */
export interface EventEnrichment {
  /** When the answer was fetched (RFC 3339), or null when none was. */
  fetchedAt: string | null;
  /** How many tries it took. */
  attempts: number;
  /** Why there is no answer: a short reason, never a credential. Null on success. */
  error: string | null;
}

export interface NormalizedEvent {
  specversion: '1.0';
  /** herald's own id: a UUIDv7, so ids sort by the time herald received them. */
  id: string;
  /** The name of the configured source the request came in on. */
  source: string;
  provider: EventProviderId;
  /** The provider's own event type, verbatim (FACEIO: eventName). */
  type: string;
  category: Category;
  outcome: Outcome | null;
  /** The session / facial / verification id the event is about. */
  subject: string | null;
  /** When the provider says it happened (RFC 3339). */
  time: string;
  receivedAt: string;
  /** The provider's event id; null where the provider has none (FACEIO). */
  providerEventId: string | null;
  media?: EventMedia;
  /**
   * FaceSign: the session the event is about, as its API answered (`session`
   * of GET /sessions/{id}), or null when it could not be fetched. Only on
   * events of a source whose `api.enrich` lists their type.
   */
  session?: Record<string, unknown> | null;
  enrichment?: EventEnrichment;
  datacontenttype: 'application/json';
  /** The verified payload as received. */
  data: Record<string, unknown>;
}

/** What a provider adapter derives from a payload; the pipeline adds the rest. */
export type ProviderFacts = Pick<NormalizedEvent, 'type' | 'category' | 'outcome' | 'subject' | 'time' | 'providerEventId' | 'media'>;
