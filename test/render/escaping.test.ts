import assert from 'node:assert/strict';
import type { EmailMessage, SlackMessage, WebhookMessage } from '../../src/core/message.js';
import { ConfigError } from '../../src/core/errors.js';
import { loadTemplates } from '../../src/render/templates.js';
import { scopeFor, templatesFolder } from './helpers.js';

const HOSTILE = `<!channel> <@U123> <https://evil.example|click> & "quoted" 'single' <script>alert(1)</script>`;
const event = { type: 'test.hostile', time: '2026-11-18T10:13:24.000Z', subject: HOSTILE, data: { url: 'https://media.example/x?a=1&b=2' } };

const set = loadTemplates(
  templatesFolder({
    all: {
      'slack.yaml': [
        'text: "Alert *{{ event.subject }}* <!here>"',
        'blocks:',
        '  - type: section',
        '    text: { type: mrkdwn, text: "{{ event.subject }}" }',
        '    accessory: { type: button, text: { type: plain_text, text: Open }, url: "{{ event.data.url }}" }',
        '  - type: image',
        '    image_url: "{{ event.data.url }}"',
        '    alt_text: "{{ event.data.url }}"',
      ].join('\n'),
      'email.subject.liquid': 'Subject {{ event.subject }}',
      'email.text.liquid': 'Text {{ event.subject }}',
      'email.html.liquid': '<p title="{{ event.subject }}">{{ event.subject }}</p>{% assign s = event.subject %}<b>{{ s }}</b>',
      'webhook.yaml': 'value: "{{ event.subject }}"\nmixed: "S: {{ event.subject }}"',
    },
  }),
);

describe('escaping per channel', () => {
  it('Slack: escapes & < > of inserted values, not the template text', () => {
    const { payload } = set.render('all', 'slack', scopeFor(event, 'slack')) as SlackMessage;
    const escaped = '&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; "quoted" \'single\' &lt;script&gt;alert(1)&lt;/script&gt;';
    assert.equal(payload.text, `Alert *${escaped}* <!here>`);
    assert.equal((payload.blocks![0] as { text: { text: string } }).text.text, escaped);
  });

  it('Slack: leaves URL fields alone, which Slack does not read as mrkdwn', () => {
    const { payload } = set.render('all', 'slack', scopeFor(event, 'slack')) as SlackMessage;
    const [section, image] = payload.blocks as Array<Record<string, any>>;
    assert.equal(section!.accessory.url, 'https://media.example/x?a=1&b=2');
    assert.equal(image!.image_url, 'https://media.example/x?a=1&b=2');
    assert.equal(image!.alt_text, 'https://media.example/x?a=1&amp;b=2');
  });

  it('email subject and text: values as they are', () => {
    const message = set.render('all', 'email', scopeFor(event, 'email')) as EmailMessage;
    assert.equal(message.subject, `Subject ${HOSTILE}`);
    assert.equal(message.text, `Text ${HOSTILE}`);
  });

  it('email HTML: escapes & < > " \' in text and attributes, assigned values too', () => {
    const { html } = set.render('all', 'email', scopeFor(event, 'email')) as EmailMessage;
    const escaped =
      '&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil.example|click&gt; &amp; &#34;quoted&#34; &#39;single&#39; &lt;script&gt;alert(1)&lt;/script&gt;';
    assert.equal(html, `<p title="${escaped}">${escaped}</p><b>${escaped}</b>`);
    assert.doesNotMatch(html!, /<script>/);
  });

  it('webhook: values as they are, kept valid by JSON', () => {
    const { body } = set.render('all', 'webhook', scopeFor(event, 'webhook')) as WebhookMessage;
    const data = (body as { data: Record<string, string> }).data;
    assert.deepEqual(data, { value: HOSTILE, mixed: `S: ${HOSTILE}` });
    assert.deepEqual(JSON.parse(JSON.stringify(body)), body);
  });

  describe('the raw filter', () => {
    const load = (files: Record<string, string>) => () => loadTemplates(templatesFolder({ t: files }));

    it('is refused in Slack templates, where it would skip escaping', () => {
      assert.throws(load({ 'slack.yaml': 'text: "{{ event.subject | raw }}"' }), (error: ConfigError) => {
        assert.equal(error.issues.length, 1);
        assert.equal(error.issues[0]!.path, 'text');
        assert.match(error.issues[0]!.message, /undefined filter: raw \(`raw` is not available in Slack and email templates/);
        return true;
      });
    });

    it('is refused in HTML email bodies', () => {
      const files = { 'email.subject.liquid': 's', 'email.text.liquid': 't', 'email.html.liquid': '<p>\n{{ event.subject | raw }}</p>' };
      assert.throws(load(files), (error: ConfigError) => {
        assert.deepEqual(
          error.issues.map((i) => [i.file.split('/').pop(), i.line]),
          [['email.html.liquid', 2]],
        );
        return true;
      });
    });

    it('is refused in {% echo %} too', () => {
      assert.throws(load({ 'slack.yaml': 'text: "{% echo event.subject | raw %}"' }), /undefined filter: raw/);
    });

    it('is refused in plain-text email, where it would let a value write lines', () => {
      assert.throws(load({ 'email.subject.liquid': 's', 'email.text.liquid': '{{ event.subject | raw }}' }), /undefined filter: raw/);
    });

    it('is harmless where nothing is escaped', () => {
      const set = loadTemplates(
        templatesFolder({ t: { 'slack.yaml': 'text: t\nblocks: [{ type: image, image_url: "{{ event.subject | raw }}", alt_text: a }]' } }),
      );
      const { payload } = set.render('t', 'slack', scopeFor({ subject: 'https://x.example/?a=1&b=2' }, 'slack')) as SlackMessage;
      assert.equal((payload.blocks![0] as { image_url: string }).image_url, 'https://x.example/?a=1&b=2');
    });
  });

  it('Slack: refuses verbatim: false, which would let a URL in a value become a link', () => {
    const yaml = 'text: t\nblocks:\n  - type: section\n    text: { type: mrkdwn, text: "{{ event.subject }}", verbatim: false }';
    assert.throws(
      () => loadTemplates(templatesFolder({ t: { 'slack.yaml': yaml } })),
      (error: ConfigError) => {
        assert.deepEqual(
          error.issues.map((i) => i.path),
          ['blocks[0].text.verbatim'],
        );
        assert.match(error.issues[0]!.message, /herald sends every mrkdwn text verbatim/);
        return true;
      },
    );
  });

  it('cannot include other files', () => {
    assert.throws(
      () => loadTemplates(templatesFolder({ t: { 'slack.yaml': 'text: "{% render \'x\' %}"' } })),
      /tag "render" not found \(a template is self-contained/,
    );
  });

  it('cannot reach prototypes', () => {
    const set = loadTemplates(
      templatesFolder({ t: { 'email.subject.liquid': 's', 'email.text.liquid': '[{{ event.subject.constructor }}{{ event.data.__proto__ }}]' } }),
    );
    assert.equal((set.render('t', 'email', scopeFor(event, 'email')) as EmailMessage).text, '[]');
    assert.throws(() => set.render('t', 'email', scopeFor(event, 'email'), { strict: true }), /undefined variable event\.subject\.constructor/);
  });
});
