/**
 * `event.consoleUrl` in messages: with `server.publicUrl` set, the shipped
 * Slack and email templates link to the subject's timeline in the console;
 * without it they show no link, and a webhook's default body never has one.
 */
import assert from 'node:assert/strict';
import type { DestinationConfig, HeraldConfig } from '../../src/core/config.js';
import type { EmailMessage, SlackMessage, WebhookMessage } from '../../src/core/message.js';
import { planNotifications } from '../../src/pipeline/stages/route.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadRouting } from '../../src/app/setup.js';
import { SHIPPED_RULES_DIR, testConfig } from '../helpers/config.js';
import { sampleEvent } from '../render/helpers.js';

const DESTINATIONS: Record<string, DestinationConfig> = {
  'compliance-slack': { name: 'compliance-slack', type: 'slack', options: { url: 'https://hooks.slack.invalid/T/B/x' } },
  'compliance-email': {
    name: 'compliance-email',
    type: 'email',
    options: { smtp: 'smtp://127.0.0.1:2525', from: 'herald@example.com', to: ['ops@example.com'] },
  },
  crm: { name: 'crm', type: 'webhook', options: { url: 'https://crm.invalid/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
};

function messagesFor(server: Partial<HeraldConfig['server']>, provider: 'legaltalent' | 'faceio', type: string) {
  const base = testConfig('sqlite::memory:');
  const config = { ...base, rulesDir: SHIPPED_RULES_DIR, destinations: DESTINATIONS, server: { ...base.server, ...server } };
  const event = sampleEvent(provider, type);
  const planned = planNotifications(
    { ...event, source: provider === 'legaltalent' ? 'legaltalent' : 'faceio' },
    loadRouting(config).routing,
    PROVIDERS[provider],
  );
  const of = (destination: string) => planned.find((p) => p.delivery.destination === destination)?.delivery.message;
  return { event, slack: of('compliance-slack') as SlackMessage, email: of('compliance-email') as EmailMessage, webhook: of('crm') as WebhookMessage };
}

describe('event.consoleUrl in messages', () => {
  it('links Slack and email to the subject timeline when server.publicUrl is set; the webhook body stays the event', () => {
    const { event, slack, email, webhook } = messagesFor({ publicUrl: 'https://herald.example.com' }, 'legaltalent', 'kyc.session.rejected');
    const url = `https://herald.example.com/console/subjects/${event.subject!.replaceAll('_', '%5F')}`;
    assert.ok(JSON.stringify(slack.payload).includes(`<${url}|Open the timeline in herald's console>`), JSON.stringify(slack.payload));
    assert.ok(email.html!.includes(`href="${url}"`));
    assert.ok(email.text.includes(`Timeline in herald's console: ${url}`));
    assert.ok(!JSON.stringify(webhook.body).includes('consoleUrl'), 'the webhook body is the event, without the console link');
  });

  it('shows no link without server.publicUrl', () => {
    const { slack, email } = messagesFor({}, 'legaltalent', 'kyc.session.rejected');
    assert.ok(!JSON.stringify(slack.payload).includes('console'));
    assert.ok(!email.html!.includes('console') && !email.text.includes('console'));
  });

  it('links to the event, not the subject, when the subject identifies a person (FACEIO facial id)', () => {
    const { event, slack } = messagesFor({ publicUrl: 'https://herald.example.com' }, 'faceio', 'ENROLL');
    const text = JSON.stringify(slack.payload);
    assert.ok(text.includes(`https://herald.example.com/console/events/${event.id}`), text);
    assert.ok(!text.includes(event.subject!));
  });
});
