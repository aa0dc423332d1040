/**
 * Checks the schema cannot express: values that must parse (URLs, webhook
 * signing keys), settings that must agree with each other, and the environment
 * overrides. They run on the validated tree even when the schema found
 * problems, so each check first makes sure its inputs have the right shape.
 */
import { DURATION_PATTERN, parseDuration } from '../core/duration.js';
import { HERALD } from '../core/event.js';
import { parseSigningKey, SigningKeyError } from '../core/signing-keys.js';
import { DEFAULTS } from './defaults.js';
import type { Env } from './env.js';
import type { PathIssue } from '../core/config-path.js';
import { configSchema } from './schema.js';

const DURATION = new RegExp(DURATION_PATTERN);

/** Every problem the schema could not see, in the tree and in the overrides in `env`. */
export function crossCheck(tree: unknown, env: Env): PathIssue[] {
  const config = asRecord(tree);
  return [
    ...checkOverrides(env),
    ...checkReservedSource(config),
    ...checkDestinations(config),
    ...checkAgainstRetention(config),
    ...checkAlerts(config),
    ...checkReplayWindows(config),
    ...checkAdminListener(config, env),
    ...checkMedia(config),
  ];
}

/**
 * The media archive's links are built on `server.publicUrl`, so it needs one;
 * a link that expires at once, or a signing secret short enough to guess, would
 * make the archive useless or open.
 */
function checkMedia(config: Record<string, unknown>): PathIssue[] {
  const issues: PathIssue[] = [];
  const publicUrl = asRecord(config.server).publicUrl;
  if (typeof publicUrl === 'string' && !parsesWithHost(publicUrl, ['http:', 'https:'])) {
    issues.push({ path: ['server', 'publicUrl'], message: 'must be an http:// or https:// URL with a host' });
  }
  if (config.media === undefined) return issues;
  const media = asRecord(config.media);
  if (publicUrl === undefined) {
    issues.push({
      path: ['media'],
      atKey: true,
      message: 'needs server.publicUrl, the address herald is reached at (e.g. https://herald.example.com): links to archived media are built on it',
    });
  }
  if (isDuration(media.linkTtl) && parseDuration(media.linkTtl) === 0) issues.push({ path: ['media', 'linkTtl'], message: 'must be longer than 0' });
  if (isDuration(media.timeout) && parseDuration(media.timeout) === 0) issues.push({ path: ['media', 'timeout'], message: 'must be longer than 0' });
  if (typeof media.linkSecret === 'string' && media.linkSecret.length < 32) {
    // Never the secret itself.
    issues.push({ path: ['media', 'linkSecret'], message: 'must be at least 32 characters: make one with `openssl rand -base64 32`' });
  }
  return issues;
}

/**
 * herald's own alerts are events of source "herald": a configured source of
 * that name would let a provider's webhooks pass for them in rules, templates
 * and `herald events list --source herald`. (The provider "herald" is not in
 * the schema's list, so no source can name it either.)
 */
function checkReservedSource(config: Record<string, unknown>): PathIssue[] {
  if (!Object.hasOwn(asRecord(config.sources), HERALD)) return [];
  return [
    {
      path: ['sources', HERALD],
      atKey: true,
      message: `the source name "${HERALD}" is reserved for herald's own operational alerts: give this source another name`,
    },
  ];
}

/** A zero duration would mean no rate limit (an alert per check) or a check loop that never sleeps. */
function checkAlerts(config: Record<string, unknown>): PathIssue[] {
  const alerts = asRecord(config.alerts);
  return (['every', 'queueAge', 'checkEvery'] as const)
    .filter((key) => isDuration(alerts[key]) && parseDuration(alerts[key] as string) === 0)
    .map((key) => ({ path: ['alerts', key], message: 'must be longer than 0' }));
}

/** The operations listener needs a port of its own (0, a free one, excepted). */
function checkAdminListener(config: Record<string, unknown>, env: Env): PathIssue[] {
  const server = asRecord(config.server);
  const adminPort = asRecord(server.admin).port;
  const port = env.PORT ? Number(env.PORT) : (server.port ?? DEFAULTS.server.port);
  if (typeof adminPort !== 'number' || adminPort === 0 || adminPort !== port) return [];
  return [{ path: ['server', 'admin', 'port'], message: `is the webhook port too (${port}): give the operations listener a port of its own` }];
}

/** PORT and HERALD_STORE replace values from the file, so they must meet the same rules. */
function checkOverrides(env: Env): PathIssue[] {
  const issues: PathIssue[] = [];
  if (env.PORT && !(/^[0-9]+$/.test(env.PORT) && Number(env.PORT) <= 65535)) {
    issues.push({ path: ['server', 'port'], message: `is overridden by PORT, which must be a port number from 0 to 65535, not "${env.PORT}"` });
  }
  // The store URL may hold a password: never echoed.
  if (env.HERALD_STORE && !new RegExp(configSchema().properties.store.pattern).test(env.HERALD_STORE)) {
    issues.push({ path: ['store'], message: 'is overridden by HERALD_STORE, which must be "sqlite:<path>" or a "postgres://" URL' });
  }
  return issues;
}

function checkDestinations(config: Record<string, unknown>): PathIssue[] {
  const issues: PathIssue[] = [];
  for (const [name, value] of Object.entries(asRecord(config.destinations))) {
    const destination = asRecord(value);
    const at = (key: string) => ['destinations', name, key];
    // The schema's "uri" format accepts URLs fetch cannot use, such as "http://".
    if (typeof destination.url === 'string' && !parsesWithHost(destination.url, ['http:', 'https:'])) {
      issues.push({ path: at('url'), message: 'must be an http:// or https:// URL with a host' });
    }
    if (typeof destination.smtp === 'string' && !parsesWithHost(destination.smtp, ['smtp:', 'smtps:'])) {
      issues.push({ path: at('smtp'), message: 'must be an smtp:// or smtps:// URL with a host' });
    }
    if (destination.type === 'webhook') issues.push(...checkSigningKeys(destination, ['destinations', name]));
  }
  return issues;
}

/**
 * A webhook destination signs with `secret` (one key) or `secrets` (several,
 * while rotating): exactly one of the two, and every key must parse, so a
 * typo stops start-up instead of failing every delivery.
 */
function checkSigningKeys(destination: Record<string, unknown>, at: (string | number)[]): PathIssue[] {
  const { secret, secrets } = destination;
  if (secret !== undefined && secrets !== undefined) {
    return [{ path: [...at, 'secret'], atKey: true, message: 'give "secret" (one key) or "secrets" (a list), not both: move this key into "secrets"' }];
  }
  if (secret === undefined && secrets === undefined) {
    return [
      {
        path: at,
        message: '"secrets" is required for a webhook destination: a list of Standard Webhooks signing keys, e.g. secrets: ["${CRM_WEBHOOK_SECRET}"]',
      },
    ];
  }
  const keys: Array<[unknown, (string | number)[]]> = Array.isArray(secrets)
    ? secrets.map((key, index) => [key, [...at, 'secrets', index]])
    : [[secret, [...at, 'secret']]];
  return keys.flatMap(([key, path]) => {
    if (typeof key !== 'string' || key === '') return []; // the schema reports it
    try {
      parseSigningKey(key);
      return [];
    } catch (error) {
      if (error instanceof SigningKeyError) return [{ path, message: error.message }];
      throw error;
    }
  });
}

/**
 * Events are deleted after the retention, and their dedupe keys with them;
 * a longer dedupe window or delivery age would silently be cut short.
 */
function checkAgainstRetention(config: Record<string, unknown>): PathIssue[] {
  const retention = config.retention ?? DEFAULTS.retention;
  if (!isDuration(retention)) return [];
  const retentionMs = parseDuration(retention);
  const issues: PathIssue[] = [];
  const check = (value: unknown, path: (string | number)[], why: string) => {
    if (isDuration(value) && parseDuration(value) > retentionMs) {
      issues.push({ path, message: `${value} is longer than the retention (${retention}): ${why}` });
    }
  };
  for (const [name, source] of Object.entries(asRecord(config.sources))) {
    check(asRecord(source).dedupeWindow, ['sources', name, 'dedupeWindow'], 'dedupe keys are deleted with their events');
  }
  const stillRetried = 'events would be deleted while their deliveries are still retried';
  check(asRecord(config.delivery).maxAge, ['delivery', 'maxAge'], stillRetried);
  for (const [name, destination] of Object.entries(asRecord(config.destinations))) {
    check(asRecord(asRecord(destination).delivery).maxAge, ['destinations', name, 'delivery', 'maxAge'], stillRetried);
  }
  return issues;
}

/**
 * A signed request is accepted while its timestamp lies within the tolerance
 * of now, before or after: for twice the tolerance. Its dedupe key must be
 * remembered at least that long from the first receipt, or a replay of the
 * same signed request after the key is forgotten is stored and notified again.
 * Sources whose signature has no timestamp (FACEIO, LegalTalent with
 * `signedPayload: body`) have no tolerance to cover.
 */
function checkReplayWindows(config: Record<string, unknown>): PathIssue[] {
  const retention = config.retention ?? DEFAULTS.retention;
  const issues: PathIssue[] = [];
  for (const [name, value] of Object.entries(asRecord(config.sources))) {
    const source = asRecord(value);
    if (source.provider === 'faceio' || (source.provider === 'legaltalent' && source.signedPayload === 'body')) continue;
    const tolerance = source.tolerance ?? DEFAULTS.source.tolerance;
    const window = source.dedupeWindow ?? retention;
    if (!isDuration(tolerance) || !isDuration(window) || parseDuration(window) >= 2 * parseDuration(tolerance)) continue;
    const replay = `a signed request is accepted from ${tolerance} before its timestamp until ${tolerance} after it, so a replay after its dedupe key is forgotten would be stored and notified again`;
    if (source.dedupeWindow !== undefined) {
      issues.push({
        path: ['sources', name, 'dedupeWindow'],
        message: `${window} is shorter than twice the signature tolerance (${tolerance}): ${replay}; make it at least twice the tolerance`,
      });
    } else {
      // Dedupe keys are kept for the retention: point at whichever of the two the file sets.
      const path = source.tolerance !== undefined || config.retention === undefined ? ['sources', name, 'tolerance'] : ['retention'];
      issues.push({
        path,
        message: `the signature tolerance (${tolerance}) is longer than half the retention (${retention}), for which dedupe keys are kept: ${replay}`,
      });
    }
  }
  return issues;
}

function parsesWithHost(text: string, protocols: string[]): boolean {
  try {
    const url = new URL(text);
    return protocols.includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
}

function isDuration(value: unknown): value is string {
  return typeof value === 'string' && DURATION.test(value);
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
