/**
 * herald.config.yaml as written, once it has passed the schema: strings for
 * durations and sizes, relative paths, optional blocks. The loader turns it
 * into a HeraldConfig (src/core/config.ts).
 */
import type { ConsoleRole, DestinationType, SignatureEncoding, SignedPayload } from '../core/config.js';
import type { ProviderId } from '../core/event.js';

export interface RawDelivery {
  timeout?: string;
  retry?: string[];
  maxAge?: string;
}

export interface RawSource {
  provider: ProviderId;
  secrets?: string[];
  token?: string | string[];
  allowBareToken?: boolean;
  tolerance?: string;
  signedPayload?: SignedPayload;
  signatureEncoding?: SignatureEncoding;
  dedupeWindow?: string;
  pii?: 'redact' | 'include';
  api?: RawSessionApi;
}

export interface RawSessionApi {
  url: string;
  key: string;
  enrich?: string[];
  timeout?: string;
  giveUpAfter?: string;
  rate?: string;
  allowPrivateNetwork?: boolean;
}

export interface RawDestination {
  type: DestinationType;
  url?: string;
  smtp?: string;
  secret?: string;
  secrets?: string[];
  delivery?: RawDelivery;
  [option: string]: unknown;
}

export interface RawAlerts {
  enabled?: boolean;
  every?: string;
  queueAge?: string;
  checkEvery?: string;
}

export interface RawConfig {
  server?: {
    port?: number;
    host?: string;
    bodyLimit?: string;
    requestTimeout?: string;
    shutdownGrace?: string;
    admin?: { port: number; host?: string };
    metricsToken?: string;
    publicUrl?: string;
    trustProxy?: boolean;
  };
  store?: string;
  rules?: string;
  templates?: string;
  retention?: string;
  sources?: Record<string, RawSource>;
  destinations?: Record<string, RawDestination>;
  delivery?: RawDelivery & { thread?: boolean };
  alerts?: RawAlerts;
  console?: { users?: Array<{ name: string; passwordHash: string; role: ConsoleRole }>; sessionTimeout?: string };
  media?: RawMedia;
}

export interface RawMedia {
  store?: string;
  maxBytes?: string;
  allowedHosts: string[];
  allowPrivateNetwork?: boolean;
  linkTtl?: string;
  timeout?: string;
  linkSecret?: string;
}
