import assert from 'node:assert/strict';
import path from 'node:path';
import type { ChannelType } from '../../src/core/message.js';
import { checkTemplates, type TemplateUsage } from '../../src/render/check.js';
import { loadTemplates } from '../../src/render/templates.js';
import { sampleEvent, templatesFolder } from './helpers.js';

const usage = (template: string, channel: ChannelType, index = 0): TemplateUsage => ({
  template,
  channel,
  ruleFile: '/rules/kyc.yaml',
  rulePath: `rule "kyc-rejected" [0].notify[${index}].template`,
  destination: { name: `compliance-${channel}`, type: channel },
  ruleName: 'kyc-rejected',
});

describe('checkTemplates', () => {
  const dir = templatesFolder({
    typo: {
      'slack.yaml':
        'text: "{{ event.data.data.reasn }}"\nblocks:\n  - { type: section, text: { type: mrkdwn, text: "{{ event.data.data.reasn }} {{ rule.name }}" } }',
      'email.subject.liquid': '{{ event.subject }}',
      'email.text.liquid': '{{ event.data.data.reason | default: "-" }}\n{{ event.data.data.risk_score | duration: "weeks" }}',
    },
    fine: { 'slack.yaml': 'text: "{{ event.data.data.reason | default: \'none\' }} for {{ rule.name }} to {{ destination.name }}"' },
  });
  const set = loadTemplates(dir);
  const samples = [
    { label: 'kyc (legaltalent) kyc.session.rejected', event: sampleEvent('legaltalent', 'kyc.session.rejected') },
    { label: 'kyc (legaltalent) kyc.session.manual_review', event: sampleEvent('legaltalent', 'kyc.session.manual_review') },
  ];

  it('reports nothing for templates that render against every sample', () => {
    assert.deepEqual(checkTemplates(set, [usage('fine', 'slack'), usage('fine', 'webhook', 1)], samples), []);
  });

  it('reports a failure once per template file and variable, with the rule and the sample', () => {
    const issues = checkTemplates(set, [usage('typo', 'slack', 0), usage('typo', 'slack', 1), usage('typo', 'email', 2)], samples);
    assert.deepEqual(
      issues.map((i) => [path.basename(i.file), i.line, i.path]),
      [
        ['slack.yaml', 1, 'text'],
        ['email.text.liquid', 2, ''],
      ],
    );
    assert.match(
      issues[0]!.message,
      /^undefined variable event\.data\.data\.reasn: .*\(used by \/rules\/kyc\.yaml rule "kyc-rejected" \[0\]\.notify\[0\]\.template; sample kyc \(legaltalent\) kyc\.session\.rejected\)$/,
    );
    assert.match(
      issues[1]!.message,
      /^duration: the unit must be "ms" .* \(used by .*notify\[2\]\.template; sample kyc \(legaltalent\) kyc\.session\.rejected\)$/,
    );
  });

  it('reports a failure once across calls that share what was reported (one call per rule)', () => {
    const reported = new Set<string>();
    const first = checkTemplates(set, [usage('typo', 'slack', 0)], samples, reported);
    const second = checkTemplates(set, [usage('typo', 'slack', 1)], samples, reported);
    assert.equal(first.length, 1);
    assert.deepEqual(second, []);
  });

  it('reports a usage whose template cannot render for its channel, or does not exist', () => {
    const issues = checkTemplates(set, [usage('fine', 'email', 1), usage('missing', 'slack', 2)], samples);
    assert.deepEqual(issues, [
      {
        file: '/rules/kyc.yaml',
        path: 'rule "kyc-rejected" [0].notify[1].template',
        message: 'template "fine" has no email.subject.liquid and email.text.liquid, which email destination "compliance-email" needs',
      },
      { file: '/rules/kyc.yaml', path: 'rule "kyc-rejected" [0].notify[2].template', message: 'there is no template "missing"' },
    ]);
  });
});
