/**
 * No value in a payload can make routing throw (issue 13, item 1): every
 * shipped sample, with hostile values (objects with own toString/valueOf,
 * `__proto__` keys, huge numbers, deep arrays, random JSON) put in place of its
 * fields, goes through the shipped rules and templates. Planning never throws:
 * a rule that fails counts as not matching and is reported, a template that
 * fails makes that one delivery dead, and the next clean event is routed
 * exactly as before.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { NormalizedEvent, ProviderId } from '../../../src/core/event.js';
import { planRouting, type RoutingPlan } from '../../../src/pipeline/stages/route.js';
import { sampleEvent } from '../../../src/pipeline/events/sample-events.js';
import { PROVIDERS } from '../../../src/providers/registry.js';
import { sampleTypes } from '../../../src/providers/samples.js';
import { loadRouting } from '../../../src/app/setup.js';
import { SHIPPED_RULES_DIR, testConfig, testSources } from '../../helpers/config.js';
import { HOSTILE_VALUES } from '../../helpers/hostile-values.js';

const sources = testSources();
const { routing } = loadRouting(
  testConfig('sqlite::memory:', {
    rulesDir: SHIPPED_RULES_DIR,
    destinations: {
      'compliance-slack': { name: 'compliance-slack', type: 'slack', options: { url: 'https://hooks.slack.com/services/T0/B0/x' } },
      'compliance-email': { name: 'compliance-email', type: 'email', options: { smtp: 'smtp://127.0.0.1:1', from: 'h@example.com', to: ['c@example.com'] } },
      crm: { name: 'crm', type: 'webhook', options: { url: 'https://crm.example.com/hook', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } },
    },
  }),
);

const SAMPLES: NormalizedEvent[] = (Object.keys(PROVIDERS) as ProviderId[]).flatMap((provider) =>
  sampleTypes(provider).map((type) => sampleEvent(sources[provider], PROVIDERS[provider], type, Date.UTC(2026, 10, 18))),
);

/** What a plan sends, without herald's fresh ids. */
const sent = (plan: RoutingPlan) => plan.notifications.map(({ delivery: { id: _id, ...rest } }) => rest);
const plan = (event: NormalizedEvent) => planRouting(event, routing, PROVIDERS[event.provider as ProviderId]);

/** Hostile values; objects are built with Object.fromEntries, so `__proto__` is an own key as JSON.parse makes it. */
const KEYS = ['toString', 'valueOf', '__proto__', 'length', '0', 'indexOf', 'then', 'toJSON', 'constructor', 'a'];
const hostile: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...HOSTILE_VALUES.map(([, v]) => v)),
    fc.jsonValue({ maxDepth: 3 }),
    fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('value')), { maxLength: 4 }).map((entries) => Object.fromEntries(entries)),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;

/** Every path to a field of the event's data (objects only: the paths a rule or template may read). */
function fieldPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, child]) => [[...prefix, key], ...fieldPaths(child, [...prefix, key])]);
}

function withValueAt(event: NormalizedEvent, path: string[], value: unknown): NormalizedEvent {
  const data = structuredClone(event.data);
  let node = data as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return { ...event, data };
}

describe('routing events with hostile values through the shipped rules and templates', () => {
  const clean = SAMPLES.map((event) => sent(plan(event)));

  it('plans every shipped sample as before: nothing fails', () => {
    for (const event of SAMPLES) assert.deepEqual(plan(event).errors, [], `${event.provider} ${event.type}`);
  });

  it('never throws for any value in any field; failures stay with their rule or delivery; the next event routes as before', () => {
    const cases = SAMPLES.flatMap((event, i) => fieldPaths(event.data).map((path) => ({ i, path })));
    fc.assert(
      fc.property(fc.constantFrom(...cases), hostile, ({ i, path }, value) => {
        const event = withValueAt(SAMPLES[i]!, path, value);
        const result = plan(event);
        for (const { delivery } of result.notifications) {
          assert.ok(delivery.status === 'pending' || /^render-failed: /.test(delivery.error ?? ''), delivery.error);
        }
        for (const error of result.errors) assert.notEqual(error.rule, null, 'only a rule fails, never the event as a whole');
        const next = (i + 1) % SAMPLES.length;
        assert.deepEqual(sent(plan(SAMPLES[next]!)), clean[next]);
      }),
      { numRuns: 150 },
    );
  });

  it('the LegalTalent reproduction: final_decision {"toString":1,"valueOf":1} fails kyc-approved-but-flagged alone', () => {
    const processed = SAMPLES.find((e) => e.type === 'kyc.session.processed')!;
    const result = plan(withValueAt(processed, ['data', 'final_decision'], { toString: 1, valueOf: 1 }));
    assert.deepEqual(
      result.errors.map((e) => e.rule),
      ['kyc-approved-but-flagged'],
    );
    assert.deepEqual(result.notifications, []);
  });
});
