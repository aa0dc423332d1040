/**
 * Console passwords, hashed with scrypt (node:crypto, RFC 7914) and written in
 * the PHC string format, as passlib and other libraries write scrypt:
 * `$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>`, salt and hash in base64
 * without padding. The cost is in the string, so a hash made with other
 * parameters still verifies; `herald console hash-password` makes them.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** N = 2^15, r = 8, p = 1: 32 MiB and a few tens of milliseconds per hash, off the event loop (libuv's pool). */
const DEFAULT_COST = { ln: 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

const PHC_SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{4,})\$([A-Za-z0-9+/]{22,})$/;

/** A password hash that is not a scrypt PHC string herald can verify. */
export class PasswordHashFormatError extends Error {
  constructor() {
    super('is not a password hash herald can read: make one with `herald console hash-password` ($scrypt$ln=...,r=...,p=...$salt$hash)');
    this.name = 'PasswordHashFormatError';
  }
}

interface ParsedHash {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

/** Reads a PHC scrypt string; throws PasswordHashFormatError for anything else or an unreasonable cost. */
export function parsePasswordHash(text: string): ParsedHash {
  const match = PHC_SCRYPT.exec(text);
  if (!match) throw new PasswordHashFormatError();
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) throw new PasswordHashFormatError();
  return { ln, r, p, salt: Buffer.from(match[4]!, 'base64'), hash: Buffer.from(match[5]!, 'base64') };
}

function derive(password: string, salt: Buffer, keyBytes: number, cost: { ln: number; r: number; p: number }): Promise<Buffer> {
  const N = 2 ** cost.ln;
  const options: ScryptOptions = { N, r: cost.r, p: cost.p, maxmem: 2 * 128 * N * cost.r * cost.p + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))));
}

const b64 = (buffer: Buffer) => buffer.toString('base64').replace(/=+$/, '');

/** A new hash of `password` with a random salt. */
export async function hashPassword(password: string, cost: { ln: number; r: number; p: number } = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`;
}

/** Whether `password` matches `encoded`, compared in constant time. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  const key = await derive(password, parsed.salt, parsed.hash.length, parsed);
  return timingSafeEqual(key, parsed.hash);
}
