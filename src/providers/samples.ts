/**
 * Sample payloads shipped in samples/<provider>/<type>.json: one for every event
 * type each provider documents. `herald send --sample`, the tests and (later)
 * `herald check`'s template rendering use them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventProviderId } from '../core/event.js';
import { PACKAGE_ROOT } from '../core/paths.js';

export const SAMPLES_DIR = path.join(PACKAGE_ROOT, 'samples');

/** The event types that have a shipped sample for this provider, sorted. */
export function sampleTypes(provider: EventProviderId): string[] {
  return readdirSync(path.join(SAMPLES_DIR, provider))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** No shipped sample of this type: the message lists the ones there are. */
export class UnknownSampleError extends Error {
  constructor(provider: string, type: string, known: readonly string[]) {
    super(`no sample of type "${type}" for ${provider}; samples exist for: ${known.join(', ')}`);
    this.name = 'UnknownSampleError';
  }
}

export function loadSample(provider: EventProviderId, type: string): Record<string, unknown> {
  const types = sampleTypes(provider);
  if (!types.includes(type)) {
    throw new UnknownSampleError(provider, type, types);
  }
  return JSON.parse(readFileSync(path.join(SAMPLES_DIR, provider, `${type}.json`), 'utf8')) as Record<string, unknown>;
}

/**
 * A FaceSign session as its API answers `GET /sessions/{id}`
 * (samples/facesign/api/session.json): what sample events of an enriching
 * source carry as `event.session`.
 */
export function loadSampleSession(): Record<string, unknown> {
  const answer = JSON.parse(readFileSync(path.join(SAMPLES_DIR, 'facesign', 'api', 'session.json'), 'utf8')) as { session: Record<string, unknown> };
  return answer.session;
}
