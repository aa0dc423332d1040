/**
 * FaceSign (docs/providers.md, "FaceSign"). `X-FaceSign-Signature: t=<unix s>,v1=<hex>[,v1=<hex>]`,
 * v1 = HMAC-SHA256(secret, "<t>.<raw body>"); any v1 matching any secret is accepted
 * (their rotation note sends two). `session.status` does not carry the new status.
 */
import type { SourceConfig } from '../core/config.js';
import type { Outcome } from '../core/event.js';
import { VerificationError } from '../core/errors.js';
import { anySecretMatches, checkUnixTimestamp, firstSecret, hmacSha256, sampleId, singleHeader } from './crypto.js';
import { classifyType } from './classify.js';
import type { IncomingWebhook, Provider } from './provider.js';

const SIGNATURE_HEADER = 'x-facesign-signature';
const TIMESTAMP_HEADER = 'x-facesign-timestamp';
const MEDIA_URL_LIFETIME_MS = 15 * 60_000;
/** Ms since the epoch up to 9999-12-31T23:59:59.999Z: later times have no RFC 3339 form (nor, past 8.64e15, a Date). */
const EPOCH_MS = { type: 'integer', minimum: 0, maximum: 253_402_300_799_999 } as const;

function parseSignatureHeader(value: string): { t: string; v1: Buffer[] } {
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 't' && t === undefined) t = val;
    else if (key === 'v1' && /^[0-9a-fA-F]{64}$/.test(val)) v1.push(Buffer.from(val, 'hex'));
  }
  if (t === undefined || v1.length === 0) throw new VerificationError('signature-malformed');
  return { t, v1 };
}

function signedParts(t: string | number, body: Buffer): Array<string | Buffer> {
  return [`${t}.`, body];
}

/**
 * The outcome of a `session.status` event, from the session's status as
 * FaceSign's session API answers it (pipeline/stages/enrich.ts): created and
 * inProgress are a session under way, incomplete one the user left unfinished,
 * complete one finished (whether it verified is `session.report.isVerified`).
 * Unknown statuses give no outcome.
 */
const SESSION_STATUS_OUTCOMES = new Map<unknown, Outcome>([
  ['created', 'started'],
  ['inProgress', 'started'],
  ['incomplete', 'abandoned'],
  ['complete', 'completed'],
]);

export function sessionStatusOutcome(status: unknown): Outcome | null {
  return SESSION_STATUS_OUTCOMES.get(status) ?? null;
}

const asIso = (ms: unknown): string | null => (typeof ms === 'number' ? new Date(ms).toISOString() : null);

export const facesign: Provider = {
  id: 'facesign',
  defaultCategory: 'verification',
  personalFields: [],
  knownTypes: {
    'session.status': { category: 'verification', outcome: null },
    'media.user_photo': { category: 'media', outcome: 'completed' },
    'media.document_photo': { category: 'media', outcome: 'completed' },
    'media.user_video': { category: 'media', outcome: 'completed' },
    'analysis.video': { category: 'analysis', outcome: 'completed' },
    'analysis.screenshot': { category: 'analysis', outcome: 'completed' },
    'analysis.deepfake': { category: 'analysis', outcome: 'completed' },
    'settings.avatars': { category: 'settings', outcome: null },
    'settings.langs': { category: 'settings', outcome: null },
  },
  payloadSchema: {
    type: 'object',
    required: ['id', 'type', 'createdAt', 'sessionId'],
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 200 },
      type: { type: 'string', minLength: 1, maxLength: 200 },
      createdAt: EPOCH_MS,
      sessionId: { type: 'string', minLength: 1, maxLength: 200 },
      media: {
        type: 'object',
        required: ['id', 'url'],
        properties: {
          id: { type: 'string' },
          createdAt: EPOCH_MS,
          // Shown as a link in emails: only http(s), never javascript: or data:.
          url: { type: 'string', format: 'uri', pattern: '^https?://' },
          expires: EPOCH_MS,
          contentType: { type: 'string' },
        },
      },
    },
    if: { properties: { type: { pattern: '^media\\.' } } },
    then: { required: ['media'] },
  },

  verify(req: IncomingWebhook, source: SourceConfig, nowMs: number): void {
    const header = singleHeader(req, SIGNATURE_HEADER);
    if (!header) throw new VerificationError('signature-missing');
    const { t, v1 } = parseSignatureHeader(header);
    const timestampHeader = singleHeader(req, TIMESTAMP_HEADER);
    if (timestampHeader !== undefined && timestampHeader.trim() !== t) throw new VerificationError('header-mismatch');
    checkUnixTimestamp(t, nowMs, source.toleranceMs);
    if (!anySecretMatches(source.secrets, signedParts(t, req.body), v1)) throw new VerificationError('signature-mismatch');
  },

  sign(body: Buffer, source: SourceConfig, nowMs: number): Record<string, string> {
    const t = Math.floor(nowMs / 1000);
    const v1 = hmacSha256(firstSecret(source), signedParts(t, body)).toString('hex');
    return { 'X-FaceSign-Timestamp': String(t), 'X-FaceSign-Signature': `t=${t},v1=${v1}` };
  },

  dedupeKey: (payload) => String(payload.id),

  normalize(payload) {
    const type = String(payload.type);
    const media = payload.media as Record<string, unknown> | undefined;
    return {
      type,
      ...classifyType(facesign, type),
      subject: String(payload.sessionId),
      time: new Date(payload.createdAt as number).toISOString(),
      providerEventId: String(payload.id),
      ...(media && {
        media: {
          id: String(media.id),
          url: String(media.url),
          contentType: typeof media.contentType === 'string' ? media.contentType : null,
          expires: asIso(media.expires),
        },
      }),
    };
  },

  freshenSample(payload, nowMs) {
    const fresh: Record<string, unknown> = { ...payload, id: sampleId('evt_'), createdAt: nowMs };
    if (payload.media) {
      fresh.media = { ...(payload.media as object), createdAt: nowMs, expires: nowMs + MEDIA_URL_LIFETIME_MS };
    }
    return fresh;
  },
};
