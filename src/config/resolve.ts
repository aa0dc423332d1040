/**
 * From the file as written to the HeraldConfig the rest of herald uses:
 * environment overrides, defaults, absolute paths, milliseconds and bytes.
 * Runs only on a tree that passed the schema and the cross checks.
 */
import path from 'node:path';
import bytes from 'bytes';
import type { DestinationConfig, HeraldConfig, MediaConfig, SessionApiConfig, SourceConfig } from '../core/config.js';
import { parseDuration } from '../core/duration.js';
import { DEFAULTS } from './defaults.js';
import type { Env } from './env.js';
import type { RawConfig, RawDestination, RawMedia, RawSessionApi, RawSource } from './raw-config.js';

/** Builds the config loaded from `file` (an absolute path); relative paths are resolved against its folder. */
export function resolveConfig(raw: RawConfig, file: string, env: Env): HeraldConfig {
  const folder = path.dirname(file);
  const retentionMs = parseDuration(raw.retention ?? DEFAULTS.retention);
  const delivery = { ...DEFAULTS.delivery, ...raw.delivery };
  const alerts = { ...DEFAULTS.alerts, ...raw.alerts };
  return {
    file,
    server: {
      port: env.PORT ? Number(env.PORT) : (raw.server?.port ?? DEFAULTS.server.port),
      host: raw.server?.host ?? DEFAULTS.server.host,
      // bytes counts a "kb" as 1024 bytes; the schema has already checked the form.
      bodyLimitBytes: bytes.parse(raw.server?.bodyLimit ?? DEFAULTS.server.bodyLimit) ?? 0,
      requestTimeoutMs: parseDuration(raw.server?.requestTimeout ?? DEFAULTS.server.requestTimeout),
      shutdownGraceMs: parseDuration(raw.server?.shutdownGrace ?? DEFAULTS.server.shutdownGrace),
      ...(raw.server?.admin && { admin: { host: raw.server.admin.host ?? DEFAULTS.server.adminHost, port: raw.server.admin.port } }),
      ...(raw.server?.metricsToken && { metricsToken: raw.server.metricsToken }),
      ...(raw.server?.publicUrl && { publicUrl: raw.server.publicUrl.replace(/\/+$/, '') }),
      trustProxy: raw.server?.trustProxy ?? false,
    },
    store: resolveStore(env.HERALD_STORE || (raw.store ?? DEFAULTS.store), folder),
    rulesDir: path.resolve(folder, raw.rules ?? DEFAULTS.rules),
    templatesDir: path.resolve(folder, raw.templates ?? DEFAULTS.templates),
    retentionMs,
    sources: mapEntries(raw.sources, (name, source) => resolveSource(name, source, retentionMs)),
    destinations: mapEntries(raw.destinations, resolveDestination),
    delivery: {
      timeoutMs: parseDuration(delivery.timeout),
      retryMs: delivery.retry.map(parseDuration),
      maxAgeMs: parseDuration(delivery.maxAge),
      thread: delivery.thread,
    },
    alerts: {
      enabled: alerts.enabled,
      everyMs: parseDuration(alerts.every),
      queueAgeMs: parseDuration(alerts.queueAge),
      checkEveryMs: parseDuration(alerts.checkEvery),
    },
    console: {
      users: raw.console?.users ?? [],
      sessionTimeoutMs: parseDuration(raw.console?.sessionTimeout ?? DEFAULTS.console.sessionTimeout),
    },
    ...(raw.media && { media: resolveMedia(raw.media, folder) }),
  };
}

function resolveMedia(raw: RawMedia, folder: string): MediaConfig {
  const defaults = DEFAULTS.media;
  const store = raw.store ?? defaults.store;
  return {
    store: store === 'store' ? { kind: 'database' } : { kind: 'folder', dir: path.resolve(folder, store.slice('file:'.length)) },
    maxBytes: bytes.parse(raw.maxBytes ?? defaults.maxBytes) ?? 0,
    allowedHosts: raw.allowedHosts.map((host) => host.toLowerCase()),
    allowPrivateNetwork: raw.allowPrivateNetwork ?? defaults.allowPrivateNetwork,
    linkTtlMs: parseDuration(raw.linkTtl ?? defaults.linkTtl),
    timeoutMs: parseDuration(raw.timeout ?? defaults.timeout),
    ...(raw.linkSecret && { linkSecret: raw.linkSecret }),
  };
}

/** `sqlite:<path>` gets an absolute path (except `sqlite::memory:`); other stores are URLs, kept as they are. */
export function resolveStore(store: string, folder: string): string {
  if (!store.startsWith('sqlite:')) return store;
  const file = store.slice('sqlite:'.length);
  return file === ':memory:' ? store : `sqlite:${path.resolve(folder, file)}`;
}

function resolveSource(name: string, raw: RawSource, retentionMs: number): SourceConfig {
  const defaults = DEFAULTS.source;
  const defaultDedupeMs = raw.provider === 'faceio' ? parseDuration(defaults.faceioDedupeWindow) : retentionMs;
  return {
    name,
    provider: raw.provider,
    secrets: raw.secrets ?? [],
    tokens: raw.token === undefined ? [] : [raw.token].flat(),
    allowBareToken: raw.allowBareToken ?? defaults.allowBareToken,
    toleranceMs: parseDuration(raw.tolerance ?? defaults.tolerance),
    signedPayload: raw.signedPayload ?? defaults.signedPayload,
    signatureEncoding: raw.signatureEncoding ?? defaults.signatureEncoding,
    dedupeWindowMs: raw.dedupeWindow ? parseDuration(raw.dedupeWindow) : defaultDedupeMs,
    pii: raw.pii ?? defaults.pii,
    ...(raw.api && { api: resolveSessionApi(raw.api) }),
  };
}

function resolveSessionApi(raw: RawSessionApi): SessionApiConfig {
  const defaults = DEFAULTS.sessionApi;
  return {
    url: raw.url.replace(/\/+$/, ''),
    key: raw.key,
    enrich: raw.enrich ?? [...defaults.enrich],
    timeoutMs: parseDuration(raw.timeout ?? defaults.timeout),
    giveUpAfterMs: parseDuration(raw.giveUpAfter ?? defaults.giveUpAfter),
    rate: raw.rate ?? defaults.rate,
    allowPrivateNetwork: raw.allowPrivateNetwork ?? defaults.allowPrivateNetwork,
  };
}

/** The channel checks and converts its own options (durations stay strings here). */
function resolveDestination(name: string, raw: RawDestination): DestinationConfig {
  const { type, ...options } = raw;
  // The one place options get their type: the schema's if/then per `type` has checked exactly these keys.
  return { name, type, options } as DestinationConfig;
}

function mapEntries<T, U>(record: Record<string, T> | undefined, map: (name: string, value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([name, value]) => [name, map(name, value)]));
}
