/**
 * The JSON-logic dialect of rule conditions: json-logic-js's operators, minus
 * `log` (it writes data, personal data included, to the console), plus `glob`,
 * which the `match` shorthand compiles `*` patterns to.
 */
import jsonLogic from 'json-logic-js';

/** Operators json-logic-js implements (logic.js: `operations`, and the control forms in `apply`). */
const BUILT_IN = [
  '==', '===', '!=', '!==', '>', '>=', '<', '<=', '!!', '!', '%', 'in', 'cat', 'substr', '+', '*', '-', '/',
  'min', 'max', 'merge', 'var', 'missing', 'missing_some',
  'if', '?:', 'and', 'or', 'filter', 'map', 'reduce', 'all', 'none', 'some',
] as const;

/** `{"glob": [value, "kyc.session.*"]}`: true when value equals the pattern, or starts with what precedes a final `*`. */
export function glob(value: unknown, pattern: unknown): boolean {
  if (typeof value !== 'string' || typeof pattern !== 'string') return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

jsonLogic.add_operation('glob', glob);

export const OPERATORS: ReadonlySet<string> = new Set<string>([...BUILT_IN, 'glob']);

export type Logic = jsonLogic.RulesLogic<jsonLogic.AdditionalOperation>;

/** Where (path below the expression) every operator in `logic` that is not in the dialect is. */
export function unknownOperators(logic: unknown, path: Array<string | number> = []): Array<{ path: Array<string | number>; operator: string }> {
  if (Array.isArray(logic)) return logic.flatMap((item, i) => unknownOperators(item, [...path, i]));
  if (logic === null || typeof logic !== 'object') return [];
  const keys = Object.keys(logic);
  // A JSON-logic operation is an object with exactly one key; anything else is data.
  if (keys.length !== 1) return [];
  const operator = keys[0]!;
  const own = OPERATORS.has(operator) ? [] : [{ path: [...path, operator], operator }];
  return [...own, ...unknownOperators((logic as Record<string, unknown>)[operator], [...path, operator])];
}

export function evaluate(logic: Logic, data: unknown): boolean {
  return jsonLogic.truthy(jsonLogic.apply(logic, data));
}
