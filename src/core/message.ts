/**
 * A rendered message: exactly what a channel sends, decided once when the event
 * is routed and stored with the delivery, so a retry re-renders nothing.
 */

export type ChannelType = 'slack' | 'email' | 'webhook';
/** Every ChannelType, for checks of what a file says. */
export const CHANNEL_TYPES: readonly ChannelType[] = ['slack', 'email', 'webhook'];

export interface SlackMessage {
  channel: 'slack';
  /** The incoming-webhook payload: `text`, and `blocks` when the template has them. */
  payload: { text: string; blocks?: unknown[] };
}

export interface EmailMessage {
  channel: 'email';
  subject: string;
  text: string;
  html?: string;
}

export interface WebhookMessage {
  channel: 'webhook';
  /** The body as sent, already in the destination's format (Standard Webhooks or CloudEvents). */
  body: unknown;
  /** `application/json`, or `application/cloudevents+json` for a structured CloudEvent. */
  contentType: string;
}

export type RenderedMessage = SlackMessage | EmailMessage | WebhookMessage;
