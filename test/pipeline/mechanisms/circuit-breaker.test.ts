import assert from 'node:assert/strict';
import { CircuitBreaker, type BreakerState } from '../../../src/pipeline/mechanisms/circuit-breaker.js';

describe('CircuitBreaker', () => {
  const make = () => {
    const changes: BreakerState[] = [];
    const breaker = new CircuitBreaker({ failures: 3, probeMs: [1000, 5000] }, (state) => changes.push(state));
    return { breaker, changes };
  };

  it('opens after the configured consecutive "down" failures, not before', () => {
    const { breaker, changes } = make();
    breaker.failed('network', 0);
    breaker.failed('timeout', 0);
    assert.equal(breaker.permit(0), 'send');
    breaker.failed('server-error', 0);
    assert.equal(breaker.state, 'open');
    assert.deepEqual(changes, ['open']);
  });

  it('does not count failures that do not mean "down", and a success resets the count', () => {
    const { breaker } = make();
    breaker.failed('network', 0);
    breaker.failed('network', 0);
    breaker.succeeded();
    breaker.failed('network', 0);
    breaker.failed('client-error', 0);
    breaker.failed('rate-limited', 0);
    breaker.failed('network', 0);
    assert.equal(breaker.state, 'closed');
  });

  it('permits one probe after each growing interval, the last one repeating, and closes on success', () => {
    const { breaker, changes } = make();
    for (let i = 0; i < 3; i++) breaker.failed('network', 0);
    assert.equal(breaker.permit(999), 'wait');
    assert.equal(breaker.msUntilProbe(0), 1000);
    assert.equal(breaker.permit(1000), 'probe');
    assert.equal(breaker.permit(1000), 'wait', 'one probe at a time');
    breaker.failed('network', 1000);
    assert.equal(breaker.msUntilProbe(1000), 5000);
    assert.equal(breaker.permit(6000), 'probe');
    breaker.failed('network', 6000);
    assert.equal(breaker.msUntilProbe(6000), 5000, 'the last interval repeats');
    assert.equal(breaker.permit(11_000), 'probe');
    breaker.succeeded();
    assert.equal(breaker.permit(11_000), 'send');
    assert.deepEqual(changes, ['open', 'closed']);
  });

  it('reports transitions only: failed probes keep it open without reporting "open" again', () => {
    const { breaker, changes } = make();
    for (let i = 0; i < 3; i++) breaker.failed('network', 0);
    for (let at = 1000; at <= 50_000; at += 5000) {
      assert.equal(breaker.permit(at), 'probe');
      breaker.failed('timeout', at);
      assert.equal(breaker.state, 'open');
    }
    assert.deepEqual(changes, ['open'], 'one "open" for ten failed probes');
    assert.equal(breaker.permit(60_000), 'probe');
    breaker.succeeded();
    for (let i = 0; i < 3; i++) breaker.failed('server-error', 60_000);
    assert.deepEqual(changes, ['open', 'closed', 'open'], 'closing and opening again are transitions');
  });

  it('closes when a probe gets an answer, even a refusal: the destination is up', () => {
    const { breaker } = make();
    for (let i = 0; i < 3; i++) breaker.failed('network', 0);
    assert.equal(breaker.permit(1000), 'probe');
    breaker.failed('client-error', 1000);
    assert.equal(breaker.state, 'closed');
  });

  it('goes back to waiting when a permitted probe had nothing to send', () => {
    const { breaker } = make();
    for (let i = 0; i < 3; i++) breaker.failed('network', 0);
    assert.equal(breaker.permit(1000), 'probe');
    breaker.probeSkipped();
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.permit(1001), 'probe');
  });
});
