import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { EventProviderId } from '../../src/core/event.js';
import type { EmailMessage, SlackMessage, WebhookMessage } from '../../src/core/message.js';
import { checkTemplates } from '../../src/render/check.js';
import { withArchive } from '../../src/pipeline/stages/media-archive.js';
import { enriched } from '../../src/pipeline/stages/enrich.js';
import { loadSampleSession } from '../../src/providers/samples.js';
import { loadTemplates } from '../../src/render/templates.js';
import { sampleEvent, scopeFor, SHIPPED_TEMPLATES } from './helpers.js';

/** Each shipped template and the sample events it is meant for (as the shipped rules route them). */
const MEANT_FOR: Record<string, Array<[EventProviderId, string]>> = {
  'kyc-rejected': [
    ['legaltalent', 'kyc.session.rejected'],
    ['legaltalent', 'kyc.session.manual_review'],
    ['legaltalent', 'kyc.session.processed'],
  ],
  'watchlist-match': [['legaltalent', 'watchlist.match']],
  'verification-failed': [
    ['owleyes', 'verification.failed'],
    ['owleyes', 'verification.review_required'],
  ],
  'face-enrolled': [['faceio', 'ENROLL']],
  'face-deleted': [['faceio', 'DELETION']],
  'session-finished': [['facesign', 'session.status']],
  'media-available': [
    ['facesign', 'media.user_photo'],
    ['facesign', 'media.document_photo'],
    ['facesign', 'media.user_video'],
  ],
  'ops-alert': [
    ['herald', 'herald.breaker.opened'],
    ['herald', 'herald.dead_letters'],
    ['herald', 'herald.queue.stale'],
  ],
};

const set = loadTemplates(SHIPPED_TEMPLATES);

/** Every string in a rendered message, to look for traces of a broken template. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

function slackText(message: SlackMessage): string {
  return strings(message.payload).join('\n');
}

describe('the shipped templates', () => {
  it('are the ones the tests know, each with Slack, email (HTML too) and webhook', () => {
    assert.deepEqual(set.names(), Object.keys(MEANT_FOR).sort());
    for (const name of set.names()) {
      assert.deepEqual(set.channels(name), ['slack', 'email', 'webhook'], name);
      const files = readdirSync(path.join(SHIPPED_TEMPLATES, name));
      assert.ok(files.includes('email.html.liquid'), `${name} has an HTML body`);
    }
  });

  it('render strictly against every sample they are meant for, in every channel and format', () => {
    const usages = set.names().flatMap((template) =>
      set.channels(template).map((channel) => ({
        template,
        channel,
        ruleFile: 'test',
        rulePath: template,
        ruleName: template,
        destination: { name: `test-${channel}`, type: channel },
      })),
    );
    for (const usage of usages) {
      const samples = MEANT_FOR[usage.template]!.map(([provider, type]) => ({ label: `${provider} ${type}`, event: sampleEvent(provider, type) }));
      assert.deepEqual(checkTemplates(set, [usage], samples), [], `${usage.template} ${usage.channel}`);
      for (const { event } of samples) {
        const cloudevent = set.render(usage.template, 'webhook', scopeFor(event, 'webhook'), { strict: true, format: 'cloudevents' });
        assert.equal((cloudevent as WebhookMessage).contentType, 'application/cloudevents+json');
      }
    }
  });

  for (const [name, samples] of Object.entries(MEANT_FOR)) {
    for (const [provider, type] of samples) {
      it(`${name}: ${provider} ${type} reads as it should`, () => {
        const event = sampleEvent(provider, type);
        const slack = set.render(name, 'slack', scopeFor(event, 'slack', name), { strict: true }) as SlackMessage;
        const email = set.render(name, 'email', scopeFor(event, 'email', name), { strict: true }) as EmailMessage;
        const webhook = set.render(name, 'webhook', scopeFor(event, 'webhook', name), { strict: true }) as WebhookMessage;
        const all = [...strings(slack), ...strings(email), ...strings(webhook.body)].join('\n');
        assert.doesNotMatch(all, /undefined|\[object Object\]|NaN|Liquid|\{\{|\{%/);
        assert.doesNotMatch(email.subject, /\n/);
        assert.ok(email.html!.startsWith('<!doctype html>'));
        assert.ok(slack.payload.blocks!.length > 0);
        assert.match(slackText(slack), / UTC/, 'times are shown in UTC');
        CONTENT[name]!(event as never, slackText(slack), email, webhook);
      });
    }
  }

  describe('media-available with a media archive', () => {
    const received = sampleEvent('facesign', 'media.user_video');
    const link = 'https://herald.example.com/media/019a9c1e-7b2e-7c41-9a57-2f4d1c0e8b11?exp=1795604800&sig=c2lnbmF0dXJl';
    const archived = withArchive(
      received,
      {
        id: received.id,
        sha256: 'f'.repeat(64),
        bytes: 48213,
        contentType: 'video/mp4',
        archivedAt: received.receivedAt,
        url: link,
        linkExpires: '2026-11-25T11:06:40.000Z',
      },
      null,
    );
    const failed = withArchive(received, null, 'the file is larger than media.maxBytes (52428800 bytes): it announced 90000000 bytes');
    const render = (event: unknown) => ({
      slack: slackText(set.render('media-available', 'slack', scopeFor(event, 'slack'), { strict: true }) as SlackMessage),
      email: set.render('media-available', 'email', scopeFor(event, 'email'), { strict: true }) as EmailMessage,
      webhook: (set.render('media-available', 'webhook', scopeFor(event, 'webhook'), { strict: true }) as WebhookMessage).body as {
        data: { media: Record<string, unknown> };
      },
    });

    it('links to the archive, with how long the link works and the checksum, and not to the expiring URL', () => {
      const { slack, email, webhook } = render(archived);
      for (const text of [slack, email.text, email.html!]) {
        includesAll(text, [link.replace(/&/g, text === email.html ? '&amp;' : '&'), '2026-11-25 11:06:40 UTC']);
        assert.ok(!text.includes(received.media!.url.replace(/&/g, '&amp;')) && !text.includes(received.media!.url), 'no expiring link');
        assert.doesNotMatch(text, /15 minutes/);
      }
      includesAll(email.text, ['f'.repeat(64)]);
      assert.deepEqual(webhook.data.media, {
        id: received.media!.id,
        url: link,
        content_type: 'video/mp4',
        expires: '2026-11-25T11:06:40.000Z',
        original_url: received.media!.url,
        sha256: 'f'.repeat(64),
        archive_error: null,
      });
    });

    it('falls back to the original link when archiving failed, and says why', () => {
      const { slack, email, webhook } = render(failed);
      for (const text of [slack, email.text, email.html!])
        includesAll(text, ['15 minutes', 'herald could not archive it: the file is larger than media.maxBytes']);
      includesAll(email.text, [received.media!.url]);
      assert.equal(webhook.data.media.url, received.media!.url);
      assert.equal(webhook.data.media.sha256, null);
      assert.match(webhook.data.media.archive_error as string, /larger than media\.maxBytes/);
    });
  });

  describe('session-finished with the FaceSign session (enrichment)', () => {
    const received = sampleEvent('facesign', 'session.status');
    const render = (event: unknown) => ({
      slack: slackText(set.render('session-finished', 'slack', scopeFor(event, 'slack'), { strict: true }) as SlackMessage),
      email: set.render('session-finished', 'email', scopeFor(event, 'email'), { strict: true }) as EmailMessage,
      webhook: (set.render('session-finished', 'webhook', scopeFor(event, 'webhook'), { strict: true }) as WebhookMessage).body as { data: unknown },
    });

    it('says the status and the key results of the session report, not that the status is unknown', () => {
      const event = enriched(received, 1, loadSampleSession(), Date.parse(received.receivedAt) + 2000, null);
      const { slack, email, webhook } = render(event);
      includesAll(email.subject, [received.subject!, 'is complete']);
      includesAll(slack, ['FaceSign session complete', '*Status* complete', '*Verified* true', '*Liveness* true', 'customer-4821']);
      includesAll(email.text, ['is complete', 'Status:   complete', 'Verified: true', 'Liveness: true', 'Reference: customer-4821']);
      includesAll(email.html!, ['FaceSign session complete', '<td>complete</td>', '<td>true</td>', 'customer-4821']);
      for (const text of [slack, email.text, email.html!]) assert.doesNotMatch(text, /changed status|does not send the new status|could not be fetched/);
      assert.deepEqual(webhook.data, event, 'the webhook carries the session with the event');
    });

    it("shows the report's deepfake check and video AI analysis when it has them, in every channel, and leaves them out when not", () => {
      const session = loadSampleSession() as { report: Record<string, unknown> };
      const report = { ...session.report, deepfakeDetectionStatus: 'failed', videoAIAnalysisStatus: 'inProgress' };
      const event = enriched(received, 1, { ...session, report }, Date.parse(received.receivedAt) + 2000, null);
      const { slack, email, webhook } = render(event);
      includesAll(slack, ['*Deepfake check* failed', '*Video AI analysis* inProgress']);
      includesAll(email.text, ['Deepfake check: failed', 'Video AI analysis: inProgress']);
      includesAll(email.html!, ['<th align="left">Deepfake check</th><td>failed</td>', '<th align="left">Video AI analysis</th><td>inProgress</td>']);
      // The webhook variant is the whole event: the report as FaceSign sent it.
      assert.deepEqual((webhook.data as { session: { report: unknown } }).session.report, report);

      const { deepfakeDetectionStatus: _d, videoAIAnalysisStatus: _v, ...older } = session.report;
      const without = render(enriched(received, 1, { ...session, report: older }, Date.parse(received.receivedAt) + 2000, null));
      for (const text of [without.slack, without.email.text, without.email.html!]) {
        assert.doesNotMatch(text, /Deepfake|Video AI/);
        includesAll(text, ['true']);
      }
    });

    it('says why the session could not be fetched when enrichment gave up', () => {
      const event = enriched(received, 5, null, null, 'the FaceSign API answered HTTP 401 authentication_error');
      const { slack, email } = render(event);
      for (const text of [slack, email.text, email.html!]) {
        includesAll(text, [
          'The status could not be fetched from FaceSign (the FaceSign API answered HTTP 401 authentication_error)',
          'api.facesign.ai/sessions/',
        ]);
        assert.doesNotMatch(text, /does not send the new status/);
      }
      includesAll(email.subject, ['changed status']);
    });
  });
});

type Check = (event: { subject: string; data: any; media?: any }, slack: string, email: EmailMessage, webhook: WebhookMessage) => void;
const includesAll = (text: string, parts: string[]) => parts.forEach((part) => assert.ok(text.includes(part), `missing "${part}" in:\n${text}`));

/** What a compliance team needs to read in each template, per template. */
const CONTENT: Record<string, Check> = {
  'kyc-rejected': (event, slack, email) => {
    const facts = [event.subject, 'cust-10442', String(event.data.data.risk_score)];
    includesAll(slack, facts);
    includesAll(email.text, facts);
    includesAll(email.html!, facts);
    const reason = event.data.data.reason ? (event.data.data.reason as string).replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : 'No reason given';
    includesAll(email.text, [reason]);
    assert.doesNotMatch(`${slack}${email.text}`, /Erika|Mustermann|C01X00T47/, 'extracted personal data stays redacted');
  },
  'watchlist-match': (_event, slack, email, webhook) => {
    includesAll(slack, ['Example Person', 'OFAC', '0.93', 'cust-10442']);
    includesAll(email.subject, ['Example Person', 'OFAC']);
    assert.deepEqual((webhook.body as { data: { lists: string[] } }).data.lists, ['ofac']);
  },
  'verification-failed': (event, slack, email) => {
    const wording: Record<string, string> = {
      document_expired: 'the document has expired',
      face_mismatch: 'the face does not match the photo on the document',
    };
    includesAll(slack, [event.subject, wording[event.data.data.reason as string]!]);
    includesAll(email.text, [wording[event.data.data.reason as string]!, 'u-2231']);
  },
  'face-enrolled': (event, slack, email, webhook) => {
    includesAll(slack, ['•2b3c', 'app_9f8e7d', '[redacted]']);
    assert.ok(!slack.includes(event.subject) && !email.text.includes(event.subject), 'the facial id is masked for people');
    assert.equal((webhook.body as { data: { facial_id: string } }).data.facial_id, event.subject);
    assert.doesNotMatch(slack + email.text, /203\.0\.113/);
  },
  'face-deleted': (event, slack, email) => {
    includesAll(slack, ['deleted', '•2b3c', 'app_9f8e7d']);
    assert.ok(!email.text.includes(event.subject));
  },
  'session-finished': (event, slack, email, webhook) => {
    includesAll(slack, [event.subject, 'api.facesign.ai/sessions/']);
    includesAll(email.subject, [event.subject]);
    assert.deepEqual((webhook.body as { data: unknown }).data, event, 'no webhook.yaml: the event is the body');
  },
  'ops-alert': (event, slack, email, webhook) => {
    // Who is affected, what happened in one line, and what to look at next.
    const facts: Record<string, string[]> = {
      'herald.breaker.opened': ['crm', 'paused', 'the webhook receiver answered HTTP 503', 'server-error', '5s'],
      'herald.dead_letters': ['compliance-email', '3', '550 5.1.1 Recipient address rejected', 'herald dlq list --destination compliance-email'],
      'herald.queue.stale': ['compliance-slack', '42', '2026-11-22 09:13:56 UTC', '16m 5s'],
    };
    const type = (event as unknown as { type: string }).type;
    includesAll(slack, [event.data.summary, ...facts[type]!]);
    includesAll(email.text, [event.data.summary, ...facts[type]!]);
    includesAll(
      email.html!,
      facts[type]!.map((fact) => fact.replace(/'/g, '&#39;')),
    );
    includesAll(email.subject, [event.subject]);
    assert.deepEqual((webhook.body as { data: { details: unknown } }).data.details, event.data, "the alert's data, as an object");
  },
  'media-available': (event, slack, email) => {
    includesAll(slack, [event.media.url, event.media.contentType, '15 minutes', '11:21:40 UTC']);
    includesAll(email.text, [event.media.url, '15 minutes', '2026-11-18 11:21:40 UTC']);
    includesAll(email.html!, [`href="${event.media.url}"`]);
  },
};
