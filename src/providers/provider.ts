/**
 * The contract every provider adapter implements. An adapter knows one
 * provider's signature scheme, payload shape and event types (docs/providers.md);
 * it imports nothing of herald's but `core`.
 */
import type { SourceConfig } from '../core/config.js';
import type { Category, EventProviderId, Outcome, ProviderFacts, ProviderId } from '../core/event.js';

/** A request as it arrived: the raw bytes, before any parsing, and lower-cased headers. */
export interface IncomingWebhook {
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export interface TypeClass {
  category: Category;
  outcome: Outcome | null;
}

/**
 * What the stages after ingest (routing, templates, replay) need to know about
 * whoever an event comes from: its types and its personal fields. Every webhook
 * provider has one, and so has herald, for its own operational alerts.
 */
export interface ProviderProfile {
  id: EventProviderId;
  /** Every event type the provider documents, with its category and outcome. */
  knownTypes: Record<string, TypeClass>;
  /** Category of a type this adapter does not know, when its prefix says nothing. */
  defaultCategory: Category;
  /** Dotted paths of personal fields in the payload, redacted unless a source opts in. */
  personalFields: string[];
  /**
   * The subject identifies a person (FACEIO's facial id): links in messages
   * (`event.consoleUrl`) then name the event, not the subject.
   */
  subjectIsPersonal?: boolean;
}

/** A webhook provider: how its requests are verified and its payloads read. */
export interface Provider extends ProviderProfile {
  id: ProviderId;
  /** JSON Schema of the payload; extra fields are allowed, providers add them. */
  payloadSchema: object;
  /**
   * Checks the request's signature or token over the raw bytes; throws a
   * VerificationError. Checks run cheapest first: headers, timestamp, HMAC.
   */
  verify(req: IncomingWebhook, source: SourceConfig, nowMs: number): void;
  /** The headers the provider would send with `body`: what `herald send` and the tests use. */
  sign(body: Buffer, source: SourceConfig, nowMs: number): Record<string, string>;
  /** The dedupe key of a verified, schema-valid payload. */
  dedupeKey(payload: Record<string, unknown>, req: IncomingWebhook): string;
  /** Derives the normalized facts; throws RequestRejectedError(400) when headers contradict the payload. */
  normalize(payload: Record<string, unknown>, req: IncomingWebhook, receivedAtMs: number): ProviderFacts;
  /** Gives a shipped sample fresh ids and timestamps, so that each send is a new event. */
  freshenSample(payload: Record<string, unknown>, nowMs: number): Record<string, unknown>;
}
