/**
 * A loaded, indexed rule set: which rules fire for an event. Every rule whose
 * condition holds fires, in rule-set order, until one with `stop: true` fires.
 * A condition that throws on an event (an operator given a value it cannot
 * compare) is that rule not matching that event: the failure is returned for
 * the event to record, and the other rules are evaluated as usual.
 */
import type { NormalizedEvent } from '../core/event.js';
import { evaluate } from './json-logic.js';
import type { Rule } from './rule.js';
import { RuleIndex } from './rule-index.js';

/** Longest error message a failure keeps. */
const ERROR_CHARS = 300;

/** A rule whose condition threw on an event. */
export interface RuleFailure {
  rule: Rule;
  /** What was thrown, e.g. `TypeError: Cannot convert object to primitive value`: names no value of the event. */
  error: string;
}

/** What the rules made of one event. */
export interface RuleEvaluation {
  /** The rules that fire, in order. */
  fired: Rule[];
  /** The rules whose condition threw: they count as not matching. */
  failed: RuleFailure[];
}

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
   * The rules that fire for `event`, and those whose condition threw on it.
   * `view` gives the event as a rule sees it (personal fields redacted unless
   * the rule or source opts in).
   */
  evaluate(event: NormalizedEvent, view: (rule: Rule) => unknown = () => event): RuleEvaluation {
    const fired: Rule[] = [];
    const failed: RuleFailure[] = [];
    for (const rule of this.index.candidates(event.provider, event.type)) {
      this.evaluations++;
      let holds: boolean;
      try {
        holds = evaluate(rule.condition, view(rule));
      } catch (error) {
        failed.push({ rule, error: describeThrown(error) });
        continue;
      }
      if (!holds) continue;
      fired.push(rule);
      if (rule.stop) break;
    }
    return { fired, failed };
  }

  /** The rules that fire for `event` (see evaluate). */
  match(event: NormalizedEvent, view?: (rule: Rule) => unknown): Rule[] {
    return this.evaluate(event, view).fired;
  }
}

/** `Name: message`, cut to ERROR_CHARS; anything thrown, not only Errors. */
export function describeThrown(thrown: unknown): string {
  let text: string;
  try {
    text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : `thrown: ${typeof thrown}`;
  } catch {
    text = 'an error that cannot be described';
  }
  return text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS - 1)}…` : text;
}
