/**
 * Limits on the shape of a parsed payload, checked before anything walks it
 * recursively (ajv, redaction, templates): how deep it nests, how many values
 * it holds, no `__proto__` or `constructor` keys, which no provider sends
 * and which could alter an object's prototype in code that merges payloads,
 * and no number beyond a double's range, which could not be stored as sent.
 * The body limit bounds the bytes; these bound what the bytes can become.
 */

export interface JsonShapeLimits {
  maxDepth: number;
  /** Object members plus array elements, in the whole document. */
  maxValues: number;
}

export const DEFAULT_JSON_LIMITS: JsonShapeLimits = { maxDepth: 32, maxValues: 20_000 };

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first problem found, or undefined when the value is within the limits. Iterative: no recursion to overflow. */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits = DEFAULT_JSON_LIMITS): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value: node, depth } = stack.pop()!;
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify would store as null: refuse, never alter.
    if (typeof node === 'number' && !Number.isFinite(node)) return 'holds a number beyond the range of a double (such as 1e400)';
    if (node === null || typeof node !== 'object') continue;
    if (depth >= limits.maxDepth) return `nested deeper than ${limits.maxDepth} levels`;
    const children = Array.isArray(node) ? node : Object.values(node as object);
    if (!Array.isArray(node)) {
      for (const key of Object.keys(node)) {
        if (FORBIDDEN_KEYS.has(key)) return `has a "${key}" key`;
      }
    }
    values += children.length;
    if (values > limits.maxValues) return `holds more than ${limits.maxValues} values`;
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return undefined;
}
