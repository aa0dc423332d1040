/**
 * What every channel does around one attempt, so the contract holds on every
 * path: only DeliveryError leaves a channel, and no secret leaves with it.
 *
 * Secrets can reach a message by routes nobody wrote on purpose: Node's fetch
 * puts the URL in "Failed to parse URL from <url>", and a proxy or framework
 * 404 page echoes the path ("Cannot POST /services/T0/B0/<token>"), which for
 * a Slack incoming webhook *is* the secret. So instead of trusting each message
 * we scrub every message and excerpt at this one exit, in every spelling (secret-scrubber.ts) of every
 * secret part of the destination (destination-secrets.ts).
 */
import { DeliveryError } from '../core/errors.js';
import type { ChannelType, RenderedMessage } from '../core/message.js';
import type { SendResult } from './channel.js';
import { EXCERPT_CHARS } from './http-status.js';
import type { SecretScrubber } from './secret-scrubber.js';

/**
 * Runs one attempt. A result's excerpt and a failure's message and excerpt are
 * scrubbed of the destination's secrets, and only then is an excerpt cut to
 * EXCERPT_CHARS (cutting first could keep the start of a secret that ran past
 * the cut). Anything thrown that is not a DeliveryError becomes a retryable one
 * (an unforeseen failure should not dead-letter a delivery that may well
 * succeed later; the schedule still ends in the dead letters).
 */
export async function guardAttempt(secrets: SecretScrubber, attempt: () => Promise<SendResult>): Promise<SendResult> {
  // A head shorter than an excerpt was read whole (4 KiB of UTF-8 is over 1,000
  // characters), so no secret can be cut off at its end: the cheaper scrub does.
  const excerptOf = (head: string) => (head.length < EXCERPT_CHARS ? secrets.scrub(head) : secrets.scrubHead(head).slice(0, EXCERPT_CHARS));
  try {
    const result = await attempt();
    return result.excerpt === undefined ? result : { ...result, excerpt: excerptOf(result.excerpt) };
  } catch (thrown) {
    const error =
      thrown instanceof DeliveryError
        ? thrown
        : DeliveryError.retryable('network', `unexpected failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    const { excerpt, ...details } = error.details;
    throw new DeliveryError(error.retryable, error.reason, secrets.scrub(error.message), {
      ...details,
      ...(excerpt !== undefined && { excerpt: excerptOf(excerpt) }),
    });
  }
}

/**
 * The failure for a message rendered for another channel: permanent, since
 * sending it again would fail again (a rule pointed a template at the wrong
 * kind of destination, which `herald check` should have caught).
 */
export function wrongMessageError(type: ChannelType, message: RenderedMessage): DeliveryError {
  return DeliveryError.permanent(
    'render-failed',
    `a ${message.channel} message cannot be sent to a ${type} destination: give the rule a template with a ${type} file`,
  );
}
