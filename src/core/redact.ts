/**
 * Redaction of personal fields: rules and templates see `[redacted]` in their
 * place unless the source or the rule opts in (`pii: include`).
 */

export const REDACTED = '[redacted]';

/** A copy of `value` with every dotted path in `paths` that exists replaced by REDACTED. */
export function redactPaths<T>(value: T, paths: readonly string[]): T {
  if (paths.length === 0) return value;
  const copy = structuredClone(value);
  for (const path of paths) {
    const keys = path.split('.');
    let node: unknown = copy;
    for (const key of keys.slice(0, -1)) {
      node = node !== null && typeof node === 'object' && Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
    }
    const last = keys[keys.length - 1]!;
    if (node !== null && typeof node === 'object' && Object.hasOwn(node, last)) {
      (node as Record<string, unknown>)[last] = REDACTED;
    }
  }
  return copy;
}
