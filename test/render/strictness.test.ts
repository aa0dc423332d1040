import assert from 'node:assert/strict';
import path from 'node:path';
import type { EmailMessage, SlackMessage } from '../../src/core/message.js';
import { loadTemplates, TemplateRenderError } from '../../src/render/templates.js';
import { scopeFor, templatesFolder } from './helpers.js';

const SLACK_YAML = `text: "Session {{ event.subject }}"
blocks:
  - type: section
    text:
      type: mrkdwn
      text: "Reason: {{ event.data.reasn }}"
`;

describe('strict and lenient rendering', () => {
  const dir = templatesFolder({
    typo: { 'slack.yaml': SLACK_YAML, 'email.subject.liquid': 'S', 'email.text.liquid': 'Line 1\nReason: {{ event.data.reasn }}\n' },
    fallbacks: {
      'email.subject.liquid': 'S',
      'email.text.liquid':
        '{{ event.data.reason | default: "none" }}|{{ event.media.url | default: "no media" }}|' +
        '{% if event.data.reason %}yes{% else %}no{% endif %}|{% unless event.media %}none{% endunless %}|{{ event.data.nil_field }}',
    },
    'from-data': { 'email.subject.liquid': 'S', 'email.text.liquid': '{{ event.data[event.data.key] }}' },
  });
  const set = loadTemplates(dir);
  const event = { subject: 'kyc_1', data: { reason_text: 'PRIVATE-VALUE', nil_field: null, key: 'private-key-name' } };

  it('strict: an undefined variable fails, naming the file, the YAML path and the variable', () => {
    assert.throws(
      () => set.render('typo', 'slack', scopeFor(event, 'slack'), { strict: true }),
      (error: TemplateRenderError) => {
        assert.ok(error instanceof TemplateRenderError);
        assert.equal(error.variable, 'event.data.reasn');
        assert.deepEqual(error.location, { file: path.join(dir, 'typo', 'slack.yaml'), path: 'blocks[0].text.text', line: 6, column: 13 });
        assert.match(error.message, /typo\/slack\.yaml:6:13 blocks\[0\]\.text\.text: undefined variable event\.data\.reasn: check the spelling/);
        assert.doesNotMatch(error.message, /PRIVATE-VALUE|kyc_1/);
        return true;
      },
    );
  });

  it('strict: in a .liquid file the line is the file line', () => {
    assert.throws(
      () => set.render('typo', 'email', scopeFor(event, 'email'), { strict: true }),
      /typo\/email\.text\.liquid:2:\d+: undefined variable event\.data\.reasn/,
    );
  });

  it('lenient (the default): an undefined variable prints blank', () => {
    const slack = set.render('typo', 'slack', scopeFor(event, 'slack')) as SlackMessage;
    assert.equal((slack.payload.blocks![0] as { text: { text: string } }).text.text, 'Reason: ');
    assert.equal((set.render('typo', 'email', scopeFor(event, 'email'), { strict: false }) as EmailMessage).text, 'Line 1\nReason: \n');
  });

  it('strict allows `default` as the first filter, if/unless on absent fields, and null fields', () => {
    const { text } = set.render('fallbacks', 'email', scopeFor(event, 'email'), { strict: true }) as EmailMessage;
    assert.equal(text, 'none|no media|no|none|');
  });

  it('does not name a variable whose name comes from event data', () => {
    assert.throws(
      () => set.render('from-data', 'email', scopeFor(event, 'email'), { strict: true }),
      (error: TemplateRenderError) => {
        assert.equal(error.variable, undefined);
        assert.match(error.message, /undefined variable in `/);
        assert.doesNotMatch(error.message, /private-key-name/);
        return true;
      },
    );
  });

  it('reports an unknown template or a channel the template lacks', () => {
    assert.throws(() => set.render('nope', 'slack', scopeFor(event, 'slack')), /there is no template "nope"/);
    assert.throws(() => set.render('fallbacks', 'slack', scopeFor(event, 'slack')), /template "fallbacks" has no slack\.yaml/);
  });

  it('loading finds variables that are not in scope, with their lines', () => {
    assert.throws(
      () => loadTemplates(templatesFolder({ t: { 'email.subject.liquid': 'S', 'email.text.liquid': 'ok\n{% assign x = 1 %}{{ x }} {{ evnt.type }}' } })),
      /email\.text\.liquid:2:\d+: unknown variable evnt: templates see event, rule, destination/,
    );
  });
});
