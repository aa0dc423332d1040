/**
 * Lookups by a name that comes from outside (a payload, a URL, the store) read
 * the object's OWN properties only. `table[name]` on a plain object also finds
 * what it inherits: `constructor`, `toString`, `valueOf` and `__proto__` name
 * functions and prototypes, not entries, so a payload whose type is
 * `constructor` would be classified by `Object`. Use this (or a Map) for every
 * such lookup; test/core/own.test.ts runs the prototype's names through the
 * lookups that take payload values.
 */

/** `record[key]` when the record itself has `key`, else undefined: never an inherited value. */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Every name a plain object answers without owning it (`constructor`, `toString`, `__proto__`, ...): for tests. */
export const INHERITED_NAMES: readonly string[] = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype'])];
