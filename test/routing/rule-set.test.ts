import assert from 'node:assert/strict';
import type { NormalizedEvent } from '../../src/core/event.js';
import type { RuleDefinition } from '../../src/core/rules.js';
import { compileRules } from '../../src/routing/compile-rules.js';
import { RuleSet } from '../../src/routing/rule-set.js';

function event(overrides: Partial<NormalizedEvent> = {}): NormalizedEvent {
  return {
    specversion: '1.0',
    id: 'e1',
    source: 'kyc',
    provider: 'legaltalent',
    type: 'kyc.session.rejected',
    category: 'verification',
    outcome: 'rejected',
    subject: 's1',
    time: '2026-11-18T10:00:00.000Z',
    receivedAt: '2026-11-18T10:00:01.000Z',
    providerEventId: 'evt_1',
    datacontenttype: 'application/json',
    data: { data: { risk_score: 88 } },
    ...overrides,
  };
}

function rule(name: string, fields: Partial<RuleDefinition> = {}): RuleDefinition {
  return { file: 'rules/test.yaml', index: 0, name, notify: [{ to: 'slack', template: 't' }], stop: false, enabled: true, ...fields };
}

const refs = {
  destinations: new Map([
    ['slack', 'slack' as const],
    ['hook', 'webhook' as const],
  ]),
  templates: new Map([['t', ['slack', 'webhook'] as const]]),
};

function ruleSet(definitions: RuleDefinition[]): RuleSet {
  const { rules, problems } = compileRules(definitions, refs);
  assert.deepEqual(problems, []);
  return new RuleSet(rules, 'v1');
}

const fired = (set: RuleSet, e = event()) => set.match(e).map((r) => r.name);

describe('RuleSet', () => {
  it('matches on equality, any-of lists and suffix globs', () => {
    const set = ruleSet([
      rule('exact', { match: { type: 'kyc.session.rejected' } }),
      rule('list', { match: { type: ['kyc.session.approved', 'kyc.session.rejected'] } }),
      rule('glob', { match: { type: 'kyc.session.*' } }),
      rule('other-glob', { match: { type: 'watchlist.*' } }),
      rule('other-provider', { match: { provider: 'owleyes' } }),
      rule('outcome-null', { match: { outcome: null } }),
      rule('everything'),
    ]);
    assert.deepEqual(fired(set), ['exact', 'list', 'glob', 'everything']);
    assert.deepEqual(fired(set, event({ outcome: null, type: 'x.y' })), ['outcome-null', 'everything']);
  });

  it('applies `when` as JSON-logic over the event', () => {
    const set = ruleSet([
      rule('risky', { match: { provider: 'legaltalent' }, when: { '>': [{ var: 'data.data.risk_score' }, 70] } }),
      rule('very-risky', { when: { '>': [{ var: 'data.data.risk_score' }, 90] } }),
    ]);
    assert.deepEqual(fired(set), ['risky']);
  });

  it('fires every matching rule in order until one with stop: true fires', () => {
    const set = ruleSet([
      rule('first'),
      rule('stopper', { stop: true, match: { provider: 'legaltalent' } }),
      rule('after-stop'),
      rule('stop-that-does-not-match', { stop: true, match: { provider: 'faceio' } }),
    ]);
    assert.deepEqual(fired(set), ['first', 'stopper']);
    assert.deepEqual(fired(set, event({ provider: 'owleyes' })), ['first', 'after-stop']);
  });

  it('skips disabled rules', () => {
    assert.deepEqual(fired(ruleSet([rule('off', { enabled: false }), rule('on')])), ['on']);
  });

  it('routes an event among 10,000 rules without evaluating all of them', () => {
    const types = ['kyc.session.created', 'kyc.session.approved', 'kyc.session.rejected'];
    const definitions = Array.from({ length: 10_000 }, (_, i) =>
      rule(`r${i}`, { match: { provider: i % 2 ? 'owleyes' : 'legaltalent', type: `${types[i % 3]}.${i}` } }),
    );
    definitions.push(rule('the-one', { match: { provider: 'legaltalent', type: 'kyc.session.rejected' } }));
    definitions.push(rule('a-glob', { match: { type: 'kyc.*' } }));
    const set = ruleSet(definitions);
    assert.deepEqual(fired(set), ['the-one', 'a-glob']);
    assert.ok(set.evaluations <= 2, `evaluated ${set.evaluations} rules for one event`);
  });
});

describe('compileRules', () => {
  it('reports duplicate names, unknown destinations, templates, operators and channels without files', () => {
    const { problems } = compileRules(
      [
        rule('a'),
        rule('a', { index: 1 }),
        rule('b', {
          notify: [
            { to: 'slak', template: 't' },
            { to: 'slack', template: 'nope' },
          ],
        }),
        rule('c', { when: { and: [{ regex: [{ var: 'type' }, 'x'] }, { log: 'x' }] } }),
      ],
      { destinations: refs.destinations, templates: new Map([['t', ['webhook'] as const]]) },
    );
    const messages = problems.map((p) => `${p.rule.name} ${p.path.join('.')}: ${p.message}`);
    assert.deepEqual(messages, [
      'a notify.0.template: template "t" has no slack files for destination "slack"',
      'a name: rule "a" is already defined (rules/test.yaml, rule 1): rule names must be unique',
      'a notify.0.template: template "t" has no slack files for destination "slack"',
      'b notify.0.to: unknown destination "slak": the config defines hook, slack',
      'b notify.1.template: unknown template "nope": templates/ has t',
      'c notify.0.template: template "t" has no slack files for destination "slack"',
      'c when.and.0.regex: unknown JSON-logic operator "regex"',
      'c when.and.1.log: unknown JSON-logic operator "log"',
    ]);
  });
});
