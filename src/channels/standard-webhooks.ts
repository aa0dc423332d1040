/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, and the
 * "Outbound: Standard Webhooks" section of providers.md). A few lines of
 * node:crypto, so the reference library stays a test-only dependency: the
 * tests check every signature made here with `standardwebhooks`' verify.
 */
import { createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a `whsec_` secret: the bytes its base64 part decodes to (not
 * the text of the secret). Throws when the secret is malformed; the message
 * never repeats the secret.
 */
export function standardWebhooksKey(secret: string): Buffer {
  const key = secret.startsWith(SECRET_PREFIX) ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64') : Buffer.alloc(0);
  if (key.length < 24 || key.length > 64) {
    throw new TypeError('a Standard Webhooks secret is "whsec_" and the base64 of 24 to 64 random bytes');
  }
  return key;
}

/**
 * The `webhook-signature` header value for one message: `v1,` and the base64
 * HMAC-SHA256 of `<id>.<timestamp>.<body>`. `body` must be exactly the string
 * sent (it is signed as UTF-8, as fetch sends it).
 */
export function signStandardWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8');
  return `v1,${mac.digest('base64')}`;
}
