/**
 * createChannel: one sender per destination, chosen by the destination's type.
 */
import assert from 'node:assert/strict';
import { createChannel } from '../../src/channels/channel.js';
import { EmailChannel } from '../../src/channels/email.js';
import { SlackChannel } from '../../src/channels/slack.js';
import { WebhookChannel } from '../../src/channels/webhook.js';
import type { DestinationConfig } from '../../src/core/config.js';
import { WEBHOOK_SECRET } from './helpers.js';

describe('createChannel', () => {
  const destinations: Array<[DestinationConfig, new (...args: never[]) => unknown]> = [
    [{ name: 's', type: 'slack', options: { url: 'https://hooks.slack.com/services/T0/B0/x' } }, SlackChannel],
    [{ name: 'e', type: 'email', options: { smtp: 'smtp://mail.example.com', from: 'a@example.com', to: ['b@example.com'] } }, EmailChannel],
    [{ name: 'w', type: 'webhook', options: { url: 'https://crm.example.com/hooks', secret: WEBHOOK_SECRET } }, WebhookChannel],
  ];
  for (const [destination, expected] of destinations) {
    it(`builds the ${destination.type} channel, connecting to nothing until the first send`, async () => {
      const channel = createChannel(destination);
      assert.ok(channel instanceof expected);
      assert.equal(channel.type, destination.type);
      await channel.close();
    });
  }
});
