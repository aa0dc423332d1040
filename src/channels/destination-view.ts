/**
 * What may be shown of a destination to an operator (`herald destinations
 * show`, `GET /api/destinations/{name}`): its type and, for a webhook, how it
 * signs, with the public key of each Ed25519 key to give the receiver. Never
 * a URL, a secret or a header: those may all hold credentials.
 */
import type { DestinationConfig } from '../core/config.js';
import type { SigningKeyView } from '../core/signing-keys.js';
import { viewDestinationSigningKeys } from './standard-webhooks.js';

export interface DestinationView {
  name: string;
  type: DestinationConfig['type'];
  /** The keys every request is signed with, in the order of the signatures; empty for Slack and email. */
  signingKeys: SigningKeyView[];
}

export function destinationView(destination: DestinationConfig): DestinationView {
  const signingKeys = destination.type === 'webhook' ? viewDestinationSigningKeys(destination.options) : [];
  return { name: destination.name, type: destination.type, signingKeys };
}
