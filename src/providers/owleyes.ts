/**
 * Owl Eyes (docs/providers.md, "Owl Eyes"). `x-owl-eyes-signature` = HMAC-SHA256 of
 * `"<x-owl-eyes-timestamp>.<raw body>"`, hex by default or base64 (their docs do
 * not say: `signatureEncoding` per source). Tolerance about 5 minutes.
 * The event id is optional in their payload: without it the body hash dedupes.
 */
import type { SourceConfig } from '../core/config.js';
import type { Outcome } from '../core/event.js';
import { VerificationError } from '../core/errors.js';
import { ownValue } from '../core/own.js';
import { anySecretMatches, checkUnixTimestamp, firstSecret, hmacSha256, sampleId, sha256Hex, singleHeader } from './crypto.js';
import { classifyType } from './classify.js';
import type { Provider } from './provider.js';

const HEX = /^[0-9a-fA-F]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/** `review.completed` carries the reviewer's decision in `data.status`. */
const REVIEW_OUTCOMES: Record<string, Outcome> = { approved: 'approved', rejected: 'rejected', declined: 'rejected' };

function decodeSignature(value: string, source: SourceConfig): Buffer {
  const text = value.trim();
  if (source.signatureEncoding === 'base64' ? BASE64.test(text) : HEX.test(text)) {
    return Buffer.from(text, source.signatureEncoding);
  }
  throw new VerificationError('signature-malformed');
}

/**
 * RFC 3339 (and ajv's date-time format) allow a leap second, `23:59:60`, which a
 * JavaScript Date cannot hold (it parses as NaN): read it as 23:59:59.999.
 */
const LEAP_SECOND = /:60(\.[0-9]+)?(?=([Zz]|[+-][0-9]{2}:[0-9]{2})$)/;

const signedParts = (timestamp: string, body: Buffer): Array<string | Buffer> => [`${timestamp}.`, body];

export const owleyes: Provider = {
  id: 'owleyes',
  defaultCategory: 'verification',
  personalFields: ['data.extracted_data'],
  knownTypes: {
    'verification.started': { category: 'verification', outcome: 'started' },
    'verification.completed': { category: 'verification', outcome: 'completed' },
    'verification.failed': { category: 'verification', outcome: 'failed' },
    'verification.review_required': { category: 'verification', outcome: 'review' },
    'verification.expired': { category: 'verification', outcome: 'expired' },
    'verification.abandoned': { category: 'verification', outcome: 'abandoned' },
    'review.completed': { category: 'verification', outcome: 'completed' },
  },
  payloadSchema: {
    type: 'object',
    required: ['created_at', 'data'],
    anyOf: [{ required: ['type'] }, { required: ['event'] }],
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 200 },
      type: { type: 'string', minLength: 1, maxLength: 200 },
      event: { type: 'string', minLength: 1, maxLength: 200 },
      created_at: { type: 'string', format: 'date-time' },
      data: {
        type: 'object',
        properties: {
          verification_id: { type: 'string', maxLength: 200 },
          status: { type: 'string' },
          score: { type: 'number' },
          metadata: { type: 'object' },
          extracted_data: { type: 'object' },
        },
      },
    },
  },

  verify(req, source: SourceConfig, nowMs: number): void {
    const header = singleHeader(req, 'x-owl-eyes-signature');
    if (!header) throw new VerificationError('signature-missing');
    const signature = decodeSignature(header, source);
    const timestamp = singleHeader(req, 'x-owl-eyes-timestamp');
    checkUnixTimestamp(timestamp, nowMs, source.toleranceMs);
    if (!anySecretMatches(source.secrets, signedParts(timestamp as string, req.body), [signature])) {
      throw new VerificationError('signature-mismatch');
    }
  },

  sign(body, source: SourceConfig, nowMs: number) {
    const timestamp = String(Math.floor(nowMs / 1000));
    const mac = hmacSha256(firstSecret(source), signedParts(timestamp, body)).toString(source.signatureEncoding);
    return { 'x-owl-eyes-timestamp': timestamp, 'x-owl-eyes-signature': mac };
  },

  dedupeKey: (payload, req) => (typeof payload.id === 'string' ? payload.id : `sha256:${sha256Hex(req.body)}`),

  normalize(payload) {
    const type = String(payload.type ?? payload.event);
    const data = payload.data as Record<string, unknown>;
    const base = classifyType(owleyes, type);
    const status = typeof data.status === 'string' ? data.status : '';
    const outcome = type === 'review.completed' ? (ownValue(REVIEW_OUTCOMES, status) ?? 'completed') : base.outcome;
    return {
      type,
      category: base.category,
      outcome,
      subject: typeof data.verification_id === 'string' ? data.verification_id : null,
      time: new Date(String(payload.created_at).replace(LEAP_SECOND, ':59.999')).toISOString(),
      providerEventId: typeof payload.id === 'string' ? payload.id : null,
    };
  },

  freshenSample(payload, nowMs) {
    return { ...payload, id: sampleId('evt_'), created_at: new Date(nowMs).toISOString() };
  },
};
