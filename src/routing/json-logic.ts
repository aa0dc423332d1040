/**
 * The JSON-logic dialect of rule conditions: json-logic-js's operators, minus
 * `log` (it writes data, personal data included, to the console), plus `glob`,
 * which the `match` shorthand compiles `*` patterns to, and with a `var` that
 * reads own properties only.
 *
 * An operator may throw on a value it cannot compare (`==` on an object whose
 * `toString` is not a function throws a TypeError): `evaluate` lets it throw,
 * and RuleSet counts the rule as not matching that event.
 */
import jsonLogic from 'json-logic-js';

/** Operators json-logic-js implements (logic.js: `operations`, and the control forms in `apply`). */
const BUILT_IN = [
  '==',
  '===',
  '!=',
  '!==',
  '>',
  '>=',
  '<',
  '<=',
  '!!',
  '!',
  '%',
  'in',
  'cat',
  'substr',
  '+',
  '*',
  '-',
  '/',
  'min',
  'max',
  'merge',
  'var',
  'missing',
  'missing_some',
  'if',
  '?:',
  'and',
  'or',
  'filter',
  'map',
  'reduce',
  'all',
  'none',
  'some',
] as const;

/** `{"glob": [value, "kyc.session.*"]}`: true when value equals the pattern, or starts with what precedes a final `*`. */
export function glob(value: unknown, pattern: unknown): boolean {
  if (typeof value !== 'string' || typeof pattern !== 'string') return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

jsonLogic.add_operation('glob', glob);

/**
 * `{"var": "data.data.status"}` as json-logic-js reads it, but through own
 * properties only: its own `var` walks the prototype chain, so
 * `data.constructor` would be a function and `data.__proto__` an object.
 * Strings and arrays still have their own `length` and indices.
 */
function ownVar(this: unknown, path?: unknown, fallback?: unknown): unknown {
  const notFound = fallback === undefined ? null : fallback;
  if (path === undefined || path === null || path === '') return this;
  // The walk starts at the data json-logic binds to `this`; no closure captures it.
  // eslint-disable-next-line @typescript-eslint/no-this-alias
  let node: unknown = this;
  for (const key of String(path).split('.')) {
    if (node === null || node === undefined) return notFound;
    if (typeof node !== 'object' && typeof node !== 'string') return notFound;
    if (!Object.hasOwn(Object(node) as object, key)) return notFound;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

jsonLogic.add_operation('var', ownVar);

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
