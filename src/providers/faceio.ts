/**
 * FACEIO (docs/providers.md, "FACEIO"). No signature: the `WWW-Authenticate` request header
 * carries `Bearer <token>`, the application's webhook token. No event id and no
 * timestamp, so the dedupe key is a hash of the raw body, remembered for the
 * source's dedupe window (repeated identical bodies inside it are one event).
 */
import type { SourceConfig } from '../core/config.js';
import { VerificationError } from '../core/errors.js';
import { sha256Hex, singleHeader, tokensEqual } from './crypto.js';
import { classifyType } from './classify.js';
import type { Provider } from './provider.js';

const AUTH_HEADER = 'www-authenticate';
/** The auth scheme is case-insensitive (RFC 7235 §2.1). */
const BEARER = /^Bearer[ ]+(.+)$/i;

function tokenFrom(header: string, allowBare: boolean): string {
  const bearer = BEARER.exec(header.trim());
  if (bearer?.[1]) return bearer[1].trim();
  if (allowBare && header.trim() !== '') return header.trim();
  throw new VerificationError('signature-malformed', 'expected "Bearer <token>"');
}

export const faceio: Provider = {
  id: 'faceio',
  defaultCategory: 'identity',
  personalFields: ['clientIp', 'details.gender', 'details.age'],
  // A facial id is the person's key at FACEIO: the shipped templates mask it for people.
  subjectIsPersonal: true,
  knownTypes: {
    ENROLL: { category: 'identity', outcome: 'enrolled' },
    AUTH: { category: 'identity', outcome: 'authenticated' },
    DELETION: { category: 'identity', outcome: 'deleted' },
  },
  payloadSchema: {
    type: 'object',
    required: ['eventName', 'facialId'],
    properties: {
      eventName: { type: 'string', minLength: 1, maxLength: 200 },
      facialId: { type: 'string', minLength: 1, maxLength: 200 },
      appId: { type: 'string', maxLength: 200 },
      clientIp: { type: 'string', maxLength: 100 },
      details: {
        type: 'object',
        properties: {
          timestamp: { type: 'string', format: 'date' },
          gender: { type: 'string' },
          age: { type: ['integer', 'string'] },
        },
      },
    },
  },

  verify(req, source: SourceConfig): void {
    const header = singleHeader(req, AUTH_HEADER);
    if (!header) throw new VerificationError('signature-missing');
    const token = tokenFrom(header, source.allowBareToken);
    // Compare against every configured token, so timing says nothing of which matched.
    const matches = source.tokens.map((expected) => tokensEqual(token, expected));
    if (!matches.includes(true)) throw new VerificationError('token-mismatch');
  },

  sign(_body, source: SourceConfig) {
    const token = source.tokens[0];
    if (token === undefined) throw new Error(`source "${source.name}" has no token to send`);
    return { 'WWW-Authenticate': `Bearer ${token}` };
  },

  dedupeKey: (_payload, req) => `sha256:${sha256Hex(req.body)}`,

  normalize(payload, _req, receivedAtMs) {
    const type = String(payload.eventName);
    return {
      type,
      ...classifyType(faceio, type),
      subject: String(payload.facialId),
      // FACEIO sends only a date (details.timestamp); the request arrives as it happens.
      time: new Date(receivedAtMs).toISOString(),
      providerEventId: null,
    };
  },

  freshenSample(payload, nowMs) {
    const details = { ...(payload.details as object), timestamp: new Date(nowMs).toISOString().slice(0, 10) };
    return { ...payload, details };
  },
};
