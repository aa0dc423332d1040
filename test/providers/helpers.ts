/**
 * Shared fixtures for the provider adapter tests: a source config, requests as
 * the receiver hands them over, an independent HMAC, rejection and schema checks.
 * Signatures here come from node:crypto directly, never from an adapter's `sign`.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { SourceConfig } from '../../src/core/config.js';
import type { ProviderId } from '../../src/core/event.js';
import { RequestRejectedError, VerificationError, type RejectionReason } from '../../src/core/errors.js';
import type { IncomingWebhook, Provider } from '../../src/providers/provider.js';

// ajv-formats is CommonJS: under NodeNext its default import is `module.exports`, the plugin itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** A fixed "now" with a fraction of a second, so that flooring to Unix seconds matters. */
export const NOW_MS = Date.UTC(2026, 10, 18, 10, 0, 0, 750);
export const NOW_S = Math.floor(NOW_MS / 1000);
export const TOLERANCE_MS = 300_000;

/** RFC 3339 date-time, as the normalized event's `time` must be written. */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export const SECRET = 'test-secret-primary-4Rk9';
export const OLD_SECRET = 'test-secret-previous-8Vn2';
export const TOKEN = 'test-token-primary-2Qx7';
export const OLD_TOKEN = 'test-token-previous-6Hj3';

/** A source of the given provider with one secret (or, for FACEIO, one token) and the defaults. */
export function sourceFor(provider: ProviderId, overrides: Partial<SourceConfig> = {}): SourceConfig {
  return {
    name: `test-${provider}`,
    provider,
    secrets: provider === 'faceio' ? [] : [SECRET],
    tokens: provider === 'faceio' ? [TOKEN] : [],
    allowBareToken: false,
    toleranceMs: TOLERANCE_MS,
    signedPayload: 'timestamp.body',
    signatureEncoding: 'hex',
    dedupeWindowMs: 600_000,
    pii: 'redact',
    ...overrides,
  };
}

/** A request as the HTTP layer hands it to an adapter: raw bytes and lower-cased header names. */
export function request(body: Buffer | string, headers: Record<string, string | string[] | undefined> = {}): IncomingWebhook {
  const lowered: IncomingWebhook['headers'] = {};
  for (const [name, value] of Object.entries(headers)) lowered[name.toLowerCase()] = value;
  return { body: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), headers: lowered };
}

/** HMAC-SHA256 computed here, straight from providers.md, to check the adapters against. */
export function hmac(secret: string, signed: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(signed).digest();
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The body with one byte changed (in the middle, so framing characters stay put). */
export function oneByteChanged(body: Buffer): Buffer {
  const changed = Buffer.from(body);
  const i = Math.floor(changed.length / 2);
  changed[i] = changed[i]! ^ 0x01;
  return changed;
}

/** A body with a non-ASCII character and indentation: the HMAC must cover these exact bytes. */
export function rawBody(payload: unknown): Buffer {
  return Buffer.from(JSON.stringify({ ...(payload as object), note: 'Zoë ✓' }, null, 2), 'utf8');
}

/** Asserts `fn` throws a RequestRejectedError with this reason and status (a VerificationError for 401). */
export function assertRejected(fn: () => unknown, reason: RejectionReason, status: number = 401): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RequestRejectedError, `expected a RequestRejectedError, got ${String(err)}`);
    assert.equal(err.reason, reason);
    assert.equal(err.status, status);
    if (status === 401) assert.ok(err instanceof VerificationError, 'a 401 must be a VerificationError');
    return true;
  });
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

/** Whether the payload satisfies the provider's JSON Schema, with ajv's errors for the message. */
export function validatePayload(provider: Provider, payload: unknown): { valid: boolean; errors: string } {
  const validate = ajv.compile(provider.payloadSchema);
  const valid = validate(payload);
  return { valid, errors: ajv.errorsText(validate.errors) };
}

export function assertSchemaValid(provider: Provider, payload: unknown): void {
  const { valid, errors } = validatePayload(provider, payload);
  assert.ok(valid, `expected a valid ${provider.id} payload: ${errors}`);
}

export function assertSchemaInvalid(provider: Provider, payload: unknown): void {
  assert.equal(validatePayload(provider, payload).valid, false, `expected ${JSON.stringify(payload)} to be refused`);
}

/** A deep copy of a payload with `mutate` applied: for schema-invalid variants. */
export function variant(payload: Record<string, unknown>, mutate: (p: Record<string, any>) => void): Record<string, unknown> {
  const copy = structuredClone(payload) as Record<string, any>;
  mutate(copy);
  return copy;
}
