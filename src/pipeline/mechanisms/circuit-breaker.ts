/**
 * A circuit breaker per destination: after `failures` consecutive failed
 * attempts (network errors, time-outs, 5xx: the destination looks down) it
 * opens, and the destination's deliveries wait, unclaimed, spending no
 * attempts. It is probed with one delivery after each interval of `probeMs`
 * (the last one repeats); a successful probe closes it. Only the transitions
 * (closed to open, open to closed) are reported: a failed probe keeps it open.
 */
import type { DeliveryFailureReason } from '../../core/errors.js';

export type BreakerState = 'closed' | 'open' | 'probing';

export interface BreakerSettings {
  failures: number;
  probeMs: number[];
}

export const DEFAULT_BREAKER: BreakerSettings = { failures: 5, probeMs: [5_000, 15_000, 30_000, 60_000, 120_000, 300_000] };

/** Failures that say the destination is down, rather than that one message was wrong or too fast. */
const DOWN_REASONS: ReadonlySet<DeliveryFailureReason> = new Set(['network', 'timeout', 'server-error']);

export class CircuitBreaker {
  private consecutiveFailures = 0;
  private probes = 0;
  private nextProbeAt = 0;
  state: BreakerState = 'closed';

  constructor(
    private readonly settings: BreakerSettings,
    private readonly onChange: (state: BreakerState, detail: { failures: number; nextProbeInMs?: number }) => void,
  ) {}

  /** What the deliver stage may do now: send freely, send one probe, or wait. */
  permit(now: number): 'send' | 'probe' | 'wait' {
    if (this.state === 'closed') return 'send';
    if (this.state === 'open' && now >= this.nextProbeAt) {
      this.state = 'probing';
      return 'probe';
    }
    return 'wait';
  }

  /** Milliseconds until a probe may go out (0 when closed). */
  msUntilProbe(now: number): number {
    return this.state === 'open' ? Math.max(0, this.nextProbeAt - now) : 0;
  }

  succeeded(): void {
    const wasOpen = this.state !== 'closed';
    this.consecutiveFailures = 0;
    this.probes = 0;
    this.state = 'closed';
    if (wasOpen) this.onChange('closed', { failures: 0 });
  }

  /** Records a failed attempt; only failures that mean "down" count. */
  failed(reason: DeliveryFailureReason, now: number): void {
    if (!DOWN_REASONS.has(reason)) {
      if (this.state === 'probing') this.succeeded(); // it answered: it is up
      return;
    }
    this.consecutiveFailures++;
    const opening = this.state === 'closed' && this.consecutiveFailures >= this.settings.failures;
    if (this.state === 'probing' || opening) {
      const interval = this.settings.probeMs[Math.min(this.probes, this.settings.probeMs.length - 1)]!;
      this.probes++;
      this.nextProbeAt = now + interval;
      this.state = 'open';
      // A failed probe is no transition: it stays open, and says so in its attempt record.
      if (opening) this.onChange('open', { failures: this.consecutiveFailures, nextProbeInMs: interval });
    }
  }

  /** A probe was permitted but nothing was due to send: stay open, probe when something is. */
  probeSkipped(): void {
    if (this.state === 'probing') this.state = 'open';
  }
}
