import assert from 'node:assert/strict';
import { breakerOpenedAlert, deadLettersAlert, queueStaleAlert, ruleFailedAlert, type Alert } from '../../../src/pipeline/alerts/alert-event.js';
import { sampleAlertEvent } from '../../../src/pipeline/events/sample-events.js';
import { ALERT_TYPES } from '../../../src/providers/herald.js';
import { sampleTypes } from '../../../src/providers/samples.js';

const NOW = Date.UTC(2026, 10, 22, 9, 30, 0);

/** One alert of each type, as herald builds them. */
const BUILT: Alert[] = [
  breakerOpenedAlert('crm', { failures: 5, reason: 'server-error', status: 503, error: 'the webhook receiver answered HTTP 503', nextProbeInMs: 5000 }),
  deadLettersAlert('crm', { count: 3, latestAt: NOW - 2000, latestError: 'client-error: the webhook receiver answered HTTP 410' }, NOW - 60_000, NOW),
  queueStaleAlert('crm', { pending: 42, oldestDueAt: NOW - 965_000 }, 900_000, NOW),
  ruleFailedAlert('0194d3a6-5f2e-7c41-9b7a-3e2f1d0c9b8a', { rule: 'kyc-approved-but-flagged', error: 'TypeError: Cannot convert object to primitive value' }),
];

/** The shape of a value: its keys and the type of each, recursively. */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.fromEntries(
    Object.entries(value)
      .map(([key, field]) => [key, shape(field)])
      .sort(),
  );
}

describe('alert events', () => {
  it('are events of source and provider herald, category operations, about the destination (or the rule)', () => {
    for (const alert of BUILT) {
      const event = sampleAlertEvent(alert.type, NOW);
      const about = alert.type === 'herald.rule.failed' ? event.data.rule : event.data.destination;
      assert.deepEqual([event.source, event.provider, event.category, event.outcome, event.subject], ['herald', 'herald', 'operations', null, about]);
      assert.equal(event.time, new Date(NOW).toISOString());
      assert.equal(event.type, alert.type);
    }
  });

  it('ship one sample per type, each shaped like the alerts herald builds, so `herald check` tests templates against the real thing', () => {
    assert.deepEqual(sampleTypes('herald'), Object.values(ALERT_TYPES).sort());
    for (const alert of BUILT) {
      const sample = sampleAlertEvent(alert.type, NOW).data;
      // Nullable fields are null in one and set in the other: compare the keys, and the types of the set ones.
      assert.deepEqual(Object.keys(sample).sort(), Object.keys(alert.data).sort(), alert.type);
      const set = (data: Record<string, unknown>) => Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null));
      assert.deepEqual(shape(set(sample)), shape(set(alert.data)), alert.type);
    }
  });

  it('say in one line what happened, with the numbers', () => {
    assert.deepEqual(
      BUILT.map((alert) => alert.data.summary),
      [
        'Deliveries to crm are paused after 5 failed attempts in a row (server-error); herald probes it and resumes by itself once it answers.',
        '3 deliveries to crm went to the dead letters in the last 1m.',
        '42 deliveries to crm waiting; the oldest has been due for 16m 5s (alerts.queueAge: 15m).',
        'Rule kyc-approved-but-flagged failed on an event and counted as not matching it (TypeError: Cannot convert object to primitive value); the other rules and events went on.',
      ],
    );
    assert.equal(BUILT[2]!.data.waitedMs, 965_000);
    assert.equal(BUILT[1]!.data.since, new Date(NOW - 60_000).toISOString());
  });

  it('quote at most 300 characters of an error', () => {
    const long = breakerOpenedAlert('crm', {
      failures: 5,
      reason: 'network',
      status: null,
      error: `could not reach the webhook receiver: ${'x'.repeat(1000)}`,
      nextProbeInMs: 5000,
    });
    assert.equal((long.data.error as string).length, 300);
    assert.ok((long.data.error as string).endsWith('…'));
  });
});
