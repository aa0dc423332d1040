/**
 * A rendered message: exactly what a channel sends, decided once when the event
 * is routed and stored with the delivery, so a retry re-renders nothing.
 */
import type { DestinationType } from './config.js';

export type ChannelType = 'slack' | 'email' | 'webhook';
/** Every ChannelType, for checks of what a file says. */
export const CHANNEL_TYPES: readonly ChannelType[] = ['slack', 'email', 'webhook'];

/**
 * The kind of message a destination type takes: a `slack-app` destination
 * sends the same Slack message (text and blocks) as an incoming webhook.
 */
export function messageChannelOf(type: DestinationType): ChannelType {
  return type === 'slack-app' ? 'slack' : type;
}

/**
 * Which conversation a message belongs to (README, "Threads"): every message
 * with one key to one destination is one email thread or one Slack thread.
 * Decided at routing time from the destination's or notify entry's `threadBy`.
 */
export interface MessageThread {
  /** A hash of the destination and the `threadBy` values: no personal value is stored in it. */
  key: string;
  /** slack-app: also show a reply in the channel (`reply_broadcast`). */
  broadcast?: boolean;
  /** slack-app: edit the thread's first message to this one (`chat.update`). */
  updateParent?: boolean;
}

export interface SlackMessage {
  channel: 'slack';
  /** The incoming-webhook payload: `text`, and `blocks` when the template has them. */
  payload: { text: string; blocks?: unknown[] };
  /** Set for a slack-app destination when the event has a thread key. */
  thread?: MessageThread;
}

export interface EmailMessage {
  channel: 'email';
  subject: string;
  text: string;
  html?: string;
  /** Set when the event has a thread key (by default its subject). */
  thread?: MessageThread;
}

export interface WebhookMessage {
  channel: 'webhook';
  /** The body as sent, already in the destination's format (Standard Webhooks or CloudEvents). */
  body: unknown;
  /** `application/json`, or `application/cloudevents+json` for a structured CloudEvent. */
  contentType: string;
}

export type RenderedMessage = SlackMessage | EmailMessage | WebhookMessage;
