/**
 * The channel contract: one sender per destination, which sends a rendered
 * message once and reports the retry decision with the failure (after
 * Alertmanager's `Notify(ctx, alerts) (retry bool, err error)`). The deliver
 * stage owns retries, back-off and dead letters; a channel never retries.
 * What is retried and what is permanent: README, "Delivery".
 */
import type { DestinationConfig } from '../core/config.js';
import type { ChannelType, RenderedMessage } from '../core/message.js';
import { EmailChannel } from './email.js';
import { SlackChannel } from './slack.js';
import { WebhookChannel } from './webhook.js';

/** What a channel knows about the attempt it is making. */
export interface AttemptContext {
  deliveryId: string;
  /** Stable across all attempts of one delivery: the Standard Webhooks `webhook-id`. */
  messageId: string;
  /** 1-based. */
  attempt: number;
  /** Time limit of this attempt, from the destination's `delivery.timeout`. */
  timeoutMs: number;
}

/** What a successful attempt records. */
export interface SendResult {
  /** The HTTP status (Slack, webhook); absent for email. */
  status?: number;
  /** The start of the answer; the attempt guard scrubs it of secrets and keeps its first 500 chars. */
  excerpt?: string;
}

export interface Channel {
  readonly type: ChannelType;
  /** Resolves on success; throws DeliveryError (retryable + reason) on failure. Never throws anything else. */
  send(message: RenderedMessage, ctx: AttemptContext): Promise<SendResult>;
  /** Releases pooled connections; sends in flight finish first. */
  close(): Promise<void>;
}

/** The sender for one destination of the config. */
export function createChannel(destination: DestinationConfig): Channel {
  switch (destination.type) {
    case 'slack':
      return new SlackChannel(destination);
    case 'email':
      return new EmailChannel(destination);
    case 'webhook':
      return new WebhookChannel(destination);
  }
}
