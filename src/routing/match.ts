/**
 * Compiles a rule's `match` shorthand to JSON-logic (README, "Rules"): a value
 * is equality, a list is any of, and a trailing `*` globs a suffix.
 */
import type { Logic } from './json-logic.js';
import { MATCH_FIELDS, type MatchField, type MatchValue } from './rule.js';

function alternative(field: MatchField, value: string | null): Logic {
  if (typeof value === 'string' && value.endsWith('*')) return { glob: [{ var: field }, value] } as Logic;
  return { '===': [{ var: field }, value] } as Logic;
}

/** `match` and `when` as one condition; an empty match and no `when` matches every event. */
export function compileCondition(match: Partial<Record<MatchField, MatchValue>>, when: Logic | undefined): Logic {
  const parts: Logic[] = [];
  for (const field of MATCH_FIELDS) {
    const value = match[field];
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    parts.push(values.length === 1 ? alternative(field, values[0]!) : ({ or: values.map((v) => alternative(field, v)) } as Logic));
  }
  if (when !== undefined) parts.push(when);
  if (parts.length === 0) return true as unknown as Logic;
  return parts.length === 1 ? parts[0]! : ({ and: parts } as Logic);
}
