import assert from 'node:assert/strict';
import type { WebhookMessage } from '../../src/core/message.js';
import { loadTemplates } from '../../src/render/templates.js';
import { sampleEvent, scopeFor, templatesFolder } from './helpers.js';

const WEBHOOK_YAML = `
session: "{{ event.subject }}"
score: "{{ event.data.data.risk_score }}"
score_text: "score {{ event.data.data.risk_score }}"
reason: "{{ event.data.data.reason | default: nil }}"
missing: "{{ event.data.data.nothing_here }}"
details: "{{ event.data.data }}"
fixed: [1, true, null, "literal"]
`;

describe('webhook rendering', () => {
  const set = loadTemplates(templatesFolder({ body: { 'webhook.yaml': WEBHOOK_YAML }, bare: { 'slack.yaml': 'text: hi' } }));
  const rejected = sampleEvent('legaltalent', 'kyc.session.rejected');
  const render = (name: string, format?: 'standard' | 'cloudevents', event: unknown = rejected) =>
    set.render(name, 'webhook', scopeFor(event, 'webhook'), { ...(format && { format }) }) as WebhookMessage;

  it('wraps the body as Standard Webhooks { type, timestamp, data } by default', () => {
    const message = render('body');
    assert.equal(message.contentType, 'application/json');
    assert.deepEqual(Object.keys(message.body as object), ['type', 'timestamp', 'data']);
    assert.equal((message.body as { type: string }).type, 'kyc.session.rejected');
    assert.equal((message.body as { timestamp: string }).timestamp, rejected.time);
  });

  it('renders each leaf; a leaf that is one {{ }} keeps its type', () => {
    const { data } = render('body').body as { data: Record<string, unknown> };
    assert.deepEqual(data, {
      session: 'kyc_sess_5c1d9e',
      score: 88,
      score_text: 'score 88',
      reason: 'document_suspected_fraud',
      missing: null,
      details: rejected.data.data,
      fixed: [1, true, null, 'literal'],
    });
  });

  it('sends null for `default: nil` when the field is absent', () => {
    const review = sampleEvent('legaltalent', 'kyc.session.processed');
    const { data } = render('body', 'standard', review).body as { data: Record<string, unknown> };
    assert.equal(data.reason, null);
  });

  it('wraps the body as a structured CloudEvent', () => {
    const message = render('body', 'cloudevents');
    assert.equal(message.contentType, 'application/cloudevents+json');
    const { data, ...attributes } = message.body as Record<string, unknown>;
    assert.deepEqual(attributes, {
      specversion: '1.0',
      id: rejected.id,
      source: '/herald/sources/kyc',
      type: 'kyc.session.rejected',
      subject: 'kyc_sess_5c1d9e',
      time: rejected.time,
      datacontenttype: 'application/json',
    });
    assert.equal((data as { score: number }).score, 88);
  });

  it('leaves out a CloudEvent subject the event does not have', () => {
    const body = render('bare', 'cloudevents', { ...rejected, subject: null }).body as Record<string, unknown>;
    assert.ok(!('subject' in body));
  });

  it('sends the event itself without webhook.yaml, in both formats', () => {
    assert.deepEqual((render('bare').body as { data: unknown }).data, rejected);
    assert.deepEqual((render('bare', 'cloudevents').body as { data: unknown }).data, rejected);
  });

  it('stays valid JSON whatever the values hold', () => {
    const hostile = { ...rejected, subject: '"}], "x": {"\\\n\u0000</script>' };
    const message = render('body', 'standard', hostile);
    const parsed = JSON.parse(JSON.stringify(message.body)) as { data: { session: string } };
    assert.equal(parsed.data.session, hostile.subject);
  });

  it('renders webhook for every template, slack-only ones too', () => {
    assert.deepEqual(set.channels('bare'), ['slack', 'webhook']);
    assert.deepEqual(set.channels('body'), ['webhook']);
    assert.equal(set.fileFor('bare', 'webhook'), undefined);
    assert.match(set.fileFor('body', 'webhook')!, /body\/webhook\.yaml$/);
  });
});
