/**
 * The sources' session APIs (FaceSign's, channels/session-api.ts), each behind
 * its lookup (pipeline/stages/session-lookup.ts: a rate limit, a short cache,
 * one call per session in flight), for the commands that fetch sessions
 * outside a serving herald (`herald replay --refresh-session` on the store).
 */
import { SessionApiClient } from '../channels/session-api.js';
import { SessionLookups } from '../pipeline/stages/session-lookup.js';

export function sessionApiLookups(now: () => number = Date.now): SessionLookups {
  return new SessionLookups((api) => new SessionApiClient(api), now);
}
