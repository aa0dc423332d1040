/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, and the
 * "Outbound: Standard Webhooks" section of docs/providers.md). A few lines of
 * node:crypto, so the reference library stays a test-only dependency: the
 * tests check every HMAC signature made here with `standardwebhooks`' verify,
 * and every Ed25519 one with the receiver code the README shows.
 */
import { createHmac, sign } from 'node:crypto';
import type { WebhookOptions } from '../core/config.js';
import { parseSigningKey, SigningKeyError, viewSigningKey, type SigningKey, type SigningKeyView } from '../core/signing-keys.js';

/** The options that name a webhook destination's signing keys. */
export type SigningKeyOptions = Pick<WebhookOptions, 'secret' | 'secrets'>;

/**
 * The signing keys a webhook destination lists, as written: `secrets` (the
 * new key first while rotating), or the one `secret`. Every one is a secret:
 * signingKeySecrets() (core/signing-keys.ts) gives every spelling to scrub.
 */
export function destinationSigningKeys({ secret, secrets }: SigningKeyOptions): string[] {
  if (secrets) return secrets;
  return secret === undefined ? [] : [secret];
}

/** Reads a destination's keys; throws SigningKeyError (whose message never repeats a key) when one is malformed or none is given. */
export function parseDestinationSigningKeys(options: SigningKeyOptions): SigningKey[] {
  const texts = destinationSigningKeys(options);
  if (texts.length === 0) throw new SigningKeyError('a webhook destination needs "secrets": a list of Standard Webhooks signing keys');
  return texts.map(parseSigningKey);
}

/** What may be shown of a destination's keys (the public key of each Ed25519 one), in signing order. */
export function viewDestinationSigningKeys(options: SigningKeyOptions): SigningKeyView[] {
  return parseDestinationSigningKeys(options).map(viewSigningKey);
}

/**
 * The `webhook-signature` header value for one message: one signature per
 * key, space-separated, in the keys' order. Each signs
 * `<id>.<timestamp>.<body>`: `v1,` and the base64 HMAC-SHA256, or `v1a,` and
 * the base64 Ed25519 signature. `body` must be exactly the string sent (it is
 * signed as UTF-8, as fetch sends it).
 */
export function signStandardWebhook(keys: readonly SigningKey[], id: string, timestampSeconds: number, body: string): string {
  const content = Buffer.from(`${id}.${timestampSeconds}.${body}`, 'utf8');
  return keys
    .map((key) =>
      key.scheme === 'v1'
        ? `v1,${createHmac('sha256', key.hmacKey).update(content).digest('base64')}`
        : `v1a,${sign(null, content, key.privateKey).toString('base64')}`,
    )
    .join(' ');
}
