/**
 * Standard Webhooks signing keys as written in the config and printed by
 * `herald keys generate` (https://www.standardwebhooks.com, "Signature
 * scheme"; README, "Signing keys and rotation"):
 *
 * - `whsec_` + base64 of 24 to 64 random bytes: an HMAC-SHA256 secret, signs `v1`;
 * - `whsk_` + base64 of a 64-byte Ed25519 secret key (the 32-byte seed, then
 *   the 32-byte public key, as libsodium, Go and Svix write it): signs `v1a`;
 * - `whpk_` + base64 of the 32-byte Ed25519 public key: what the receiver holds.
 *
 * Shared by the config checks, the webhook channel, the admin API and the
 * CLI, so all of them read a key the same way. No message ever repeats a key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export const HMAC_SECRET_PREFIX = 'whsec_';
export const ED25519_SECRET_PREFIX = 'whsk_';
export const ED25519_PUBLIC_PREFIX = 'whpk_';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const SEED_BYTES = 32;

/** A key herald signs with: an HMAC secret (`v1`) or an Ed25519 secret key (`v1a`) with its public key. */
export type SigningKey = { scheme: 'v1'; hmacKey: Buffer } | { scheme: 'v1a'; privateKey: KeyObject; publicKey: string };

/** What can be shown of a signing key: its scheme, and for Ed25519 the public key to give the receiver. */
export type SigningKeyView = { scheme: 'v1'; algorithm: 'HMAC-SHA256' } | { scheme: 'v1a'; algorithm: 'Ed25519'; publicKey: string };

/** A signing key that is not one. The message says what was expected, never what was given. */
export class SigningKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SigningKeyError';
  }
}

const HOW_TO_MAKE = 'make one with `herald keys generate` (HMAC) or `herald keys generate --ed25519`';

/** Reads a `whsec_` or `whsk_` key; throws SigningKeyError when it is neither, or malformed. */
export function parseSigningKey(text: string): SigningKey {
  if (text.startsWith(HMAC_SECRET_PREFIX)) {
    const bytes = base64Part(text, HMAC_SECRET_PREFIX);
    if (bytes === undefined || bytes.length < 24 || bytes.length > 64) {
      throw new SigningKeyError(`must be "whsec_" and the base64 of 24 to 64 random bytes (Standard Webhooks); ${HOW_TO_MAKE}`);
    }
    return { scheme: 'v1', hmacKey: bytes };
  }
  if (text.startsWith(ED25519_SECRET_PREFIX)) {
    const bytes = base64Part(text, ED25519_SECRET_PREFIX);
    if (bytes === undefined || bytes.length !== 2 * SEED_BYTES) {
      throw new SigningKeyError(`must be "whsk_" and the base64 of a 64-byte Ed25519 secret key (the seed, then the public key); ${HOW_TO_MAKE}`);
    }
    const privateKey = ed25519PrivateKey(bytes.subarray(0, SEED_BYTES));
    const publicKey = rawPublicKey(privateKey);
    // A key whose halves disagree was cut or pasted wrong: its signatures would not verify with the public key it carries.
    if (!publicKey.equals(bytes.subarray(SEED_BYTES))) {
      throw new SigningKeyError(
        'is a "whsk_" key whose second half is not the public key of its first: copy the whole key that `herald keys generate --ed25519` printed',
      );
    }
    return { scheme: 'v1a', privateKey, publicKey: ED25519_PUBLIC_PREFIX + publicKey.toString('base64') };
  }
  if (text.startsWith(ED25519_PUBLIC_PREFIX)) {
    throw new SigningKeyError(
      'is an Ed25519 public key ("whpk_"), which cannot sign: list the secret key ("whsk_") here and give the "whpk_" key to the receiver',
    );
  }
  throw new SigningKeyError(`must be a Standard Webhooks signing key, "whsec_..." (HMAC) or "whsk_..." (Ed25519); ${HOW_TO_MAKE}`);
}

/** What `herald destinations show` and the admin API may print of a key: never the secret. */
export function viewSigningKey(key: SigningKey): SigningKeyView {
  return key.scheme === 'v1' ? { scheme: 'v1', algorithm: 'HMAC-SHA256' } : { scheme: 'v1a', algorithm: 'Ed25519', publicKey: key.publicKey };
}

/** A new HMAC secret: 32 random bytes (the Standard Webhooks libraries' own default size). */
export function generateHmacSecret(): string {
  return HMAC_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** A new Ed25519 key pair: the `whsk_` secret key for herald, the `whpk_` public key for the receiver. */
export function generateEd25519KeyPair(): { secretKey: string; publicKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const publicKey = rawPublicKey(privateKey);
  return {
    secretKey: ED25519_SECRET_PREFIX + Buffer.concat([seed, publicKey]).toString('base64'),
    publicKey: ED25519_PUBLIC_PREFIX + publicKey.toString('base64'),
  };
}

/**
 * Every spelling of the keys in `texts` that must never be printed: each key
 * as written and its base64 part alone (a receiver's error page may echo
 * either). For scrubbing messages and excerpts.
 */
export function signingKeySecrets(texts: readonly string[]): string[] {
  return texts.flatMap((text) => [text, text.replace(/^(whsec_|whsk_)/, '')]);
}

function base64Part(text: string, prefix: string): Buffer | undefined {
  const part = text.slice(prefix.length);
  return BASE64.test(part) ? Buffer.from(part, 'base64') : undefined;
}

/**
 * The DER header of an Ed25519 PKCS#8 private key, which the 32-byte seed
 * completes (RFC 8410, section 7): how node:crypto takes a raw seed.
 */
const PKCS8_ED25519_HEADER = Buffer.from('302e020100300506032b657004220420', 'hex');

function ed25519PrivateKey(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_HEADER, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  return Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
}
