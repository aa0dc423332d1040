// Verifying herald's webhooks in Node: the raw body (a string, exactly as
// received) and the request's headers (names lower-cased, as Node gives them).
// Each function throws unless one of the request's signatures verifies.
import { createPublicKey, verify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

// HMAC (v1): with the destination's "whsec_..." secret; returns the parsed body.
export function verifyWithSecret(secret, body, headers) {
  return new Webhook(secret).verify(body, headers);
}

// Ed25519 (v1a): with the "whpk_..." public key from `herald destinations show`.
export function verifyWithPublicKey(publicKey, body, headers, nowMs = Date.now()) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !/^[0-9]+$/.test(timestamp ?? '') || !signatures) throw new Error('missing or malformed webhook-* headers');
  // Refuse replays: the same five minutes either way as the standardwebhooks library.
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > 5 * 60) throw new Error('webhook-timestamp is too old or too new');
  const raw = Buffer.from(publicKey.replace(/^whpk_/, ''), 'base64');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  const signed = Buffer.from(`${id}.${timestamp}.${body}`, 'utf8');
  const valid = signatures.split(' ').some((versioned) => {
    const [version, signature] = versioned.split(',');
    return version === 'v1a' && verify(null, signed, key, Buffer.from(signature ?? '', 'base64'));
  });
  if (!valid) throw new Error('no valid v1a signature');
  return JSON.parse(body);
}
