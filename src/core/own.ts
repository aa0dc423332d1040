/**
 * Lookups by a name that comes from outside (a payload, a URL, the store) read
 * the object's OWN properties only. `table[name]` on a plain object also finds
 * what it inherits: `constructor`, `toString`, `valueOf` and `__proto__` name
 * functions and prototypes, not entries, so a payload whose type is
 * `constructor` would be classified by `Object`. Use this (or a Map) for every
 * such lookup; test/http/hostile-values.test.ts sends every inherited name as
 * the type of every provider.
 */

/** `record[key]` when the record itself has `key`, else undefined: never an inherited value. */
export function ownValue<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
