/**
 * LegalTalent KYC (docs/providers.md, "LegalTalent KYC"). `X-Webhook-Signature: sha256=<hex>`,
 * HMAC-SHA256 with the tenant's secret over either `"<X-Webhook-Timestamp>.<body>"`
 * (the default) or the body alone: their docs do not say which, so each source
 * chooses with `signedPayload`. `X-Webhook-ID` equals the payload's `id`.
 */
import type { SourceConfig } from '../core/config.js';
import type { Outcome } from '../core/event.js';
import { RequestRejectedError, VerificationError } from '../core/errors.js';
import { ownValue } from '../core/own.js';
import { anySecretMatches, checkUnixTimestamp, firstSecret, hmacSha256, sampleId, singleHeader } from './crypto.js';
import { classifyType } from './classify.js';
import type { Provider, TypeClass } from './provider.js';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** `kyc.session.processed` is an automated decision: its outcome is in the payload. */
const DECISION_OUTCOMES: Record<string, Outcome> = {
  APPROVED: 'approved',
  REJECTED: 'rejected',
  DECLINED: 'rejected',
  MANUAL_REVIEW: 'review',
  REVIEW: 'review',
};

/** Watchlist type names are not public: a last segment such as `match`, `new_match` or `match_found` is a match. */
const WATCHLIST_MATCH = /\.(new_)?match(ed|_found)?$/;

function signedParts(source: SourceConfig, timestamp: string, body: Buffer): Array<string | Buffer> {
  return source.signedPayload === 'body' ? [body] : [`${timestamp}.`, body];
}

/**
 * Their docs publish no schema for `data`, so herald reads what it derives
 * facts from (status, the subject's id) only when it is a string (or, for an
 * id, a number) and ignores it otherwise: a correctly signed event is stored
 * and routed as sent, never refused (or a 500) for the shape of a field.
 */
const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;

function classify(type: string, data: Record<string, unknown>): TypeClass {
  const base = classifyType(legaltalent, type);
  if (type === 'kyc.session.processed') {
    const status = typeof data.status === 'string' ? data.status.toUpperCase() : '';
    return { ...base, outcome: ownValue(DECISION_OUTCOMES, status) ?? 'completed' };
  }
  if (base.category === 'watchlist' && base.outcome === null && WATCHLIST_MATCH.test(type)) return { ...base, outcome: 'match' };
  return base;
}

export const legaltalent: Provider = {
  id: 'legaltalent',
  defaultCategory: 'verification',
  personalFields: ['data.extracted_data'],
  knownTypes: {
    'kyc.session.created': { category: 'verification', outcome: 'started' },
    'kyc.session.completed': { category: 'verification', outcome: 'completed' },
    'kyc.session.processed': { category: 'verification', outcome: 'completed' },
    'kyc.session.approved': { category: 'verification', outcome: 'approved' },
    'kyc.session.rejected': { category: 'verification', outcome: 'rejected' },
    'kyc.session.manual_review': { category: 'verification', outcome: 'review' },
  },
  payloadSchema: {
    type: 'object',
    required: ['id', 'type', 'created', 'data'],
    properties: {
      id: { type: 'string', minLength: 1, maxLength: 200 },
      type: { type: 'string', minLength: 1, maxLength: 200 },
      // Unix seconds, up to 9999-12-31T23:59:59Z: later times have no RFC 3339 form.
      created: { type: 'integer', minimum: 0, maximum: 253_402_300_799 },
      data: { type: 'object' },
    },
  },

  verify(req, source: SourceConfig, nowMs: number): void {
    const header = singleHeader(req, 'x-webhook-signature');
    if (!header) throw new VerificationError('signature-missing');
    const hex = SIGNATURE.exec(header.trim())?.[1];
    if (!hex) throw new VerificationError('signature-malformed');
    const timestamp = singleHeader(req, 'x-webhook-timestamp');
    // The timestamp only protects against replays when it is signed.
    if (source.signedPayload === 'timestamp.body') checkUnixTimestamp(timestamp, nowMs, source.toleranceMs);
    const parts = signedParts(source, timestamp ?? '', req.body);
    if (!anySecretMatches(source.secrets, parts, [Buffer.from(hex, 'hex')])) {
      throw new VerificationError('signature-mismatch');
    }
  },

  sign(body, source: SourceConfig, nowMs: number) {
    const timestamp = String(Math.floor(nowMs / 1000));
    const mac = hmacSha256(firstSecret(source), signedParts(source, timestamp, body)).toString('hex');
    let id = '';
    try {
      id = text((JSON.parse(body.toString('utf8')) as { id?: unknown }).id) ?? '';
    } catch {
      // A body that is not JSON is still signed: tests send those on purpose.
    }
    return {
      // A header carries visible ASCII only; an id that is not (tests send such bodies on purpose) is left out.
      ...(/^[\x21-\x7e]+$/.test(id) && { 'X-Webhook-ID': id }),
      'X-Webhook-Timestamp': timestamp,
      'X-Webhook-Signature': `sha256=${mac}`,
      'User-Agent': 'KYC-Webhooks/1.0',
    };
  },

  dedupeKey: (payload) => String(payload.id),

  normalize(payload, req) {
    const headerId = singleHeader(req, 'x-webhook-id');
    if (headerId !== undefined && headerId !== '' && headerId !== payload.id) {
      throw new RequestRejectedError(400, 'header-mismatch', 'X-Webhook-ID differs from the payload id');
    }
    const type = String(payload.type);
    const data = payload.data as Record<string, unknown>;
    const subject = text(data.session_id) ?? text(data.verification_id) ?? text(data.id) ?? null;
    return {
      type,
      ...classify(type, data),
      subject,
      time: new Date((payload.created as number) * 1000).toISOString(),
      providerEventId: String(payload.id),
    };
  },

  freshenSample(payload, nowMs) {
    return { ...payload, id: sampleId('evt_'), created: Math.floor(nowMs / 1000) };
  },
};
