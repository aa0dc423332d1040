/**
 * A loaded, indexed rule set: which rules fire for an event. Every rule whose
 * condition holds fires, in rule-set order, until one with `stop: true` fires.
 */
import type { NormalizedEvent } from '../core/event.js';
import { evaluate } from './json-logic.js';
import type { Rule } from './rule.js';
import { RuleIndex } from './rule-index.js';

export class RuleSet {
  private readonly index: RuleIndex;
  /** Conditions evaluated since the set was built: the index's work, observable in tests. */
  evaluations = 0;

  /**
   * @param rules every rule, in order
   * @param version a digest of the rule files, recorded on each routed event
   */
  constructor(
    readonly rules: readonly Rule[],
    readonly version: string,
  ) {
    this.index = new RuleIndex(rules);
  }

  /**
   * The rules that fire for `event`. `view` gives the event as a rule sees it
   * (personal fields redacted unless the rule or source opts in).
   */
  match(event: NormalizedEvent, view: (rule: Rule) => unknown = () => event): Rule[] {
    const fired: Rule[] = [];
    for (const rule of this.index.candidates(event.provider, event.type)) {
      this.evaluations++;
      if (!evaluate(rule.condition, view(rule))) continue;
      fired.push(rule);
      if (rule.stop) break;
    }
    return fired;
  }
}
