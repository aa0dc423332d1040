/**
 * What the pages of a range replay add up to: `herald replay`'s summary, and
 * the console's dry run and progress. Apart from replay.ts, so that the CLI
 * adding pages from a running herald's API does not load the routing code.
 */
import type { ReplayPage } from './replay.js';

/** The counts of a page, summed over the pages (`sessions` with refreshSession only). */
export type ReplayTotals = Pick<ReplayPage, 'events' | 'deliveries' | 'byRule' | 'batched' | 'batchedByRule' | 'notRouted' | 'sessions'>;

export function emptyReplayTotals(refreshSession: boolean): ReplayTotals {
  return {
    events: 0,
    deliveries: 0,
    byRule: {},
    batched: 0,
    batchedByRule: {},
    notRouted: 0,
    ...(refreshSession && { sessions: { refreshed: 0, failed: [] } }),
  };
}

/** Adds one page to `totals`. */
export function addReplayPage(totals: ReplayTotals, page: ReplayPage): void {
  const add = (into: Record<string, number>, counts: Record<string, number>) => {
    for (const [rule, n] of Object.entries(counts)) into[rule] = (into[rule] ?? 0) + n;
  };
  totals.events += page.events;
  totals.deliveries += page.deliveries;
  add(totals.byRule, page.byRule);
  totals.batched += page.batched;
  add(totals.batchedByRule, page.batchedByRule);
  // A page from an older herald, through `herald replay --api`, has no count of its own.
  totals.notRouted += page.notRouted ?? 0;
  if (totals.sessions && page.sessions) {
    totals.sessions.refreshed += page.sessions.refreshed;
    totals.sessions.failed.push(...page.sessions.failed);
  }
}
