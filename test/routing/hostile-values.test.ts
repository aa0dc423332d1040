/**
 * Poisoned events (issue 13, item 1): no value in a payload can make rule
 * evaluation throw for anyone but the rule and event at hand. Every operator of
 * the dialect (the shipped rules use `===`, `==`, `glob`, `or`, `and` and `var`;
 * the README's example `>`) meets a corpus of hostile values on either side; a
 * condition that throws is that rule not matching that event, reported as a
 * failure, while the other rules of the event fire and the next event routes
 * as if nothing happened.
 */
import assert from 'node:assert/strict';
import type { NormalizedEvent } from '../../src/core/event.js';
import type { RuleDefinition } from '../../src/core/rules.js';
import { compileRules } from '../../src/routing/compile-rules.js';
import { OPERATORS } from '../../src/routing/json-logic.js';
import { RuleSet } from '../../src/routing/rule-set.js';
import { HOSTILE_VALUES } from '../helpers/hostile-values.js';

const V = { var: 'data.data.v' };

/** One condition per operator of the dialect, with the hostile value in each position it can take. */
function conditionsFor(operator: string): unknown[] {
  switch (operator) {
    case 'var':
      return [{ '==': [{ var: 'data.data.v.toString' }, 1] }, { '!!': { var: 'data.data.v.0.toString' } }, { var: ['data.data.v.x', V] }];
    case 'missing':
      return [{ missing: ['data.data.v.toString', 'data.data.v.length'] }, { missing: V }];
    case 'missing_some':
      return [{ missing_some: [1, ['data.data.v.toString', 'data.data.v.valueOf']] }, { missing_some: [V, V] }];
    case 'if':
    case '?:':
      return [{ [operator]: [V, V, 'else'] }, { [operator]: [{ '==': [V, 'x'] }, 1, 0] }];
    case 'and':
    case 'or':
      return [{ [operator]: [V, { '==': [V, 'flagged'] }] }];
    case 'filter':
    case 'map':
    case 'all':
    case 'none':
    case 'some':
      return [{ [operator]: [V, { '==': [{ var: '' }, 'flagged'] }] }, { [operator]: [{ merge: [V] }, { '>': [{ var: '' }, 1] }] }];
    case 'reduce':
      return [{ reduce: [V, { '+': [{ var: 'current' }, { var: 'accumulator' }] }, 0] }];
    case '!!':
    case '!':
      return [{ [operator]: V }, { [operator]: [V] }];
    case 'substr':
      return [{ substr: [V, 1] }, { substr: ['abc', V] }, { substr: [V, 1, -1] }];
    case 'in':
      return [{ in: ['a', V] }, { in: [V, 'abc'] }, { in: [V, [V]] }];
    case 'glob':
      return [{ glob: [V, 'kyc.*'] }, { glob: ['kyc.x', V] }];
    case '<':
    case '<=':
      return [{ [operator]: [V, 'x'] }, { [operator]: [1, V, 3] }];
    default:
      return [{ [operator]: [V, 'flagged'] }, { [operator]: ['flagged', V] }, { [operator]: [V, V] }];
  }
}

function event(v: unknown, id = 'e1'): NormalizedEvent {
  return {
    specversion: '1.0',
    id,
    source: 'kyc',
    provider: 'legaltalent',
    type: 'kyc.session.processed',
    category: 'verification',
    outcome: 'completed',
    subject: 's1',
    time: '2026-11-18T10:00:00.000Z',
    receivedAt: '2026-11-18T10:00:01.000Z',
    providerEventId: 'evt_1',
    datacontenttype: 'application/json',
    data: { type: 'kyc.session.processed', data: { v, final_decision: v } },
  };
}

const rule = (name: string, fields: Partial<RuleDefinition> = {}): RuleDefinition => ({
  file: 'rules/test.yaml',
  index: 0,
  name,
  notify: [{ to: 'slack', template: 't' }],
  stop: false,
  enabled: true,
  ...fields,
});

function ruleSet(definitions: RuleDefinition[]): RuleSet {
  const refs = { destinations: new Map([['slack', 'slack' as const]]), templates: new Map([['t', ['slack'] as const]]) };
  const { rules, problems } = compileRules(definitions, refs);
  assert.deepEqual(problems, []);
  return new RuleSet(rules, 'v1');
}

describe('rules meeting hostile values', () => {
  const operators = [...OPERATORS].sort();
  /** Around every hostile rule, two that hold for any event of the type: before and after it in order. */
  const definitions = [
    rule('before', { match: { provider: 'legaltalent' } }),
    ...operators.flatMap((operator) =>
      conditionsFor(operator).map((when, i) => rule(`${operator}#${i}`, { match: { type: 'kyc.session.*' }, when: when as RuleDefinition['when'] })),
    ),
    // The shipped rule that the LegalTalent reproduction broke, and the README's example.
    rule('kyc-approved-but-flagged', {
      match: { provider: 'legaltalent', type: 'kyc.session.processed' },
      when: { '==': [{ var: 'data.data.final_decision' }, 'flagged'] },
    }),
    rule('risky', { when: { '>': [{ var: 'data.data.v' }, 70] } }),
    rule('after', { match: { type: 'kyc.session.processed' } }),
  ];
  const set = ruleSet(definitions);
  const clean = set.evaluate(event('flagged'));

  it('a clean event fires every rule that holds for it, and nothing fails', () => {
    assert.deepEqual(clean.failed, []);
    assert.ok(clean.fired.some((r) => r.name === 'kyc-approved-but-flagged'));
    assert.ok(clean.fired.some((r) => r.name === 'before') && clean.fired.some((r) => r.name === 'after'));
  });

  for (const [label, value] of HOSTILE_VALUES) {
    it(`${label}: every operator evaluates or fails alone, the other rules fire, the next event routes as before`, () => {
      const { fired, failed } = set.evaluate(event(value));
      const names = fired.map((r) => r.name);
      assert.ok(names.includes('before') && names.includes('after'), `the rules around the hostile ones fire: ${names.join(', ')}`);
      for (const { rule: failedRule, error } of failed) {
        assert.ok(!names.includes(failedRule.name), `${failedRule.name} failed and fired`);
        assert.match(error, /^\w*Error: /, `${failedRule.name}: ${error}`);
        assert.ok(error.length <= 300);
      }
      const again = set.evaluate(event('flagged', 'e2'));
      assert.deepEqual(
        again.fired.map((r) => r.name),
        clean.fired.map((r) => r.name),
      );
      assert.deepEqual(again.failed, []);
    });
  }

  it('the LegalTalent reproduction: final_decision {"toString":1,"valueOf":1} fails the shipped rule alone, which counts as not matching', () => {
    const { fired, failed } = set.evaluate(event({ toString: 1, valueOf: 1 }));
    assert.ok(failed.some((f) => f.rule.name === 'kyc-approved-but-flagged' && /TypeError/.test(f.error)));
    assert.ok(!fired.some((r) => r.name === 'kyc-approved-but-flagged'));
    assert.ok(fired.some((r) => r.name === 'after'));
  });

  it('reads own properties only: `var` finds no inherited toString, constructor or __proto__', () => {
    const seen = (path: string, data: unknown) =>
      ruleSet([rule('r', { when: { '!!': { var: path } } })]).match({ ...event(null), data: data as Record<string, unknown> }).length === 1;
    assert.equal(seen('data.toString', {}), false);
    assert.equal(seen('data.constructor', {}), false);
    assert.equal(seen('data.__proto__', {}), false);
    assert.equal(seen('data.x.constructor', { x: 'text' }), false);
    assert.equal(seen('data.toString', { toString: 1 }), true, 'an own key of that name is data like any other');
    assert.equal(seen('data.__proto__.y', JSON.parse('{"__proto__": {"y": 1}}')), true);
    assert.equal(seen('data.list.length', { list: [1] }), true, 'arrays and strings keep their own length');
    assert.equal(seen('data.list.1', { list: [1] }), false);
  });
});
