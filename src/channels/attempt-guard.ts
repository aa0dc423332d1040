/**
 * What every channel does around one attempt, so the contract holds on every
 * path: only DeliveryError leaves a channel, and no secret leaves with it.
 *
 * Secrets can reach a message by routes nobody wrote on purpose: Node's fetch
 * puts the URL in "Failed to parse URL from <url>", and a proxy or framework
 * 404 page echoes the path ("Cannot POST /services/T0/B0/<token>"), which for
 * a Slack incoming webhook *is* the secret. So instead of trusting each message
 * we scrub every message and excerpt at this one exit (style.md: "messages ...
 * never contain a secret").
 */
import { DeliveryError } from '../core/errors.js';
import type { ChannelType, RenderedMessage } from '../core/message.js';
import type { SendResult } from './channel.js';

const REDACTED = '[redacted]';
/** Shorter fragments would blank out ordinary words; a URL path of "/" is no secret. */
const MIN_SECRET_LENGTH = 4;

/**
 * The secret parts of a URL, in every spelling they may be printed in: as
 * written, as normalized by the URL parser, its path and query (Slack's token),
 * and its password, raw and percent-decoded (SMTP credentials).
 */
export function urlSecrets(url: string): string[] {
  const secrets = [url];
  try {
    const parsed = new URL(url);
    secrets.push(parsed.href, parsed.pathname + parsed.search, parsed.password);
    secrets.push(decodeURIComponent(parsed.password));
  } catch {
    // Not a URL: the config checks reject it; the string itself is still scrubbed.
  }
  return secrets;
}

/** `text` with every occurrence of a secret replaced by `[redacted]`, longest secrets first. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const sorted = secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  return sorted.reduce((scrubbed, secret) => scrubbed.split(secret).join(REDACTED), text);
}

/**
 * Runs one attempt. A result's excerpt and a failure's message and excerpt are
 * scrubbed of `secrets`; anything thrown that is not a DeliveryError becomes a
 * retryable one (an unforeseen failure should not dead-letter a delivery that
 * may well succeed later; the schedule still ends in the dead letters).
 */
export async function guardAttempt(secrets: readonly string[], attempt: () => Promise<SendResult>): Promise<SendResult> {
  try {
    const result = await attempt();
    return result.excerpt === undefined ? result : { ...result, excerpt: scrubSecrets(result.excerpt, secrets) };
  } catch (thrown) {
    const error = thrown instanceof DeliveryError
      ? thrown
      : new DeliveryError(true, 'network', `unexpected failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    const { excerpt, ...details } = error.details;
    throw new DeliveryError(error.retryable, error.reason, scrubSecrets(error.message, secrets), {
      ...details,
      ...(excerpt !== undefined && { excerpt: scrubSecrets(excerpt, secrets) }),
    });
  }
}

/**
 * The failure for a message rendered for another channel: permanent, since
 * sending it again would fail again (a rule pointed a template at the wrong
 * kind of destination, which `herald check` should have caught).
 */
export function wrongMessageError(type: ChannelType, message: RenderedMessage): DeliveryError {
  return new DeliveryError(
    false,
    'render-failed',
    `a ${message.channel} message cannot be sent to a ${type} destination: give the rule a template with a ${type} file`,
  );
}
