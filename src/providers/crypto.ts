/** Signature primitives shared by the adapters: HMAC over raw bytes, constant-time compare. */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { VerificationError } from '../core/errors.js';

/** HMAC-SHA256 of the concatenated parts; strings are UTF-8, buffers are taken as they are. */
export function hmacSha256(secret: string, parts: Array<string | Buffer>): Buffer {
  const mac = createHmac('sha256', secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * True when some secret's HMAC equals some candidate signature. Every pair is
 * compared in constant time; lengths are public (a SHA-256 is 32 bytes).
 */
export function anySecretMatches(secrets: readonly string[], signedParts: Array<string | Buffer>, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const secret of secrets) {
    const expected = hmacSha256(secret, signedParts);
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  return matched;
}

/** Constant-time string equality that does not reveal the expected length. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses a Unix-seconds header and checks it lies within `toleranceMs` of now. */
export function checkUnixTimestamp(raw: string | undefined, nowMs: number, toleranceMs: number): number {
  if (raw === undefined) throw new VerificationError('signature-missing', 'timestamp header missing');
  if (!/^[0-9]{1,12}$/.test(raw)) throw new VerificationError('signature-malformed', 'timestamp is not Unix seconds');
  const seconds = Number(raw);
  if (Math.abs(nowMs - seconds * 1000) > toleranceMs) {
    throw new VerificationError('timestamp-outside-tolerance');
  }
  return seconds;
}

/** One header's value; a header sent twice is refused rather than guessed at. */
export function singleHeader(req: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const value = req.headers[name];
  if (Array.isArray(value)) throw new VerificationError('signature-malformed', `${name} sent more than once`);
  return value;
}

/** A random event id in a provider's style, for samples. */
export function sampleId(prefix: string): string {
  return prefix + randomBytes(12).toString('hex');
}

/** The secret a sender signs with: the first listed (the newest, during a rotation). */
export function firstSecret(source: { name: string; secrets: readonly string[] }): string {
  const secret = source.secrets[0];
  if (secret === undefined) throw new Error(`source "${source.name}" has no secret to sign with`);
  return secret;
}
