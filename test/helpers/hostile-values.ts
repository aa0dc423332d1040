/** Values a correctly signed payload can carry that have broken JSON-handling code: for the poisoned-event tests. */
const deepArray = (depth: number): unknown => (depth === 0 ? ['bottom'] : [deepArray(depth - 1)]);
/** Values a signed payload can carry (JSON.parse makes `__proto__` an own key), with a label each. */
export const HOSTILE_VALUES: Array<[string, unknown]> = [
  ['own toString and valueOf that are not functions', { toString: 1, valueOf: 1 }],
  ['own toString that is an object', { toString: {}, valueOf: [] }],
  ['own valueOf only', { valueOf: 'x' }],
  ['own indexOf, length and concat', { indexOf: 1, length: 3, concat: 1, 0: 'a' }],
  ['own __proto__ key (JSON.parse)', JSON.parse('{"__proto__": {"toString": 1, "valueOf": 1}}')],
  ['own __proto__ holding null', JSON.parse('{"__proto__": null, "x": 1}')],
  ['array of hostile objects', [{ toString: 1, valueOf: 1 }, { toString: 1 }]],
  ['array deep as a payload may nest', deepArray(30)],
  ['long array', Array.from({ length: 2000 }, (_, i) => i)],
  ['huge number', 1.7976931348623157e308],
  ['huge negative number', -1.7976931348623157e308],
  ['tiny number', 5e-324],
  ['integer past 2^53', 2 ** 60],
  ['negative zero', -0],
  ['long string', 'x'.repeat(100_000)],
  ['the name constructor', 'constructor'],
  ['the name __proto__', '__proto__'],
  ['the name toString', 'toString'],
  ['empty object', {}],
  ['empty array', []],
  ['null', null],
  ['true', true],
];

/** Every name a plain object answers without owning it (`constructor`, `toString`, `__proto__`, ...). */
export const INHERITED_NAMES: readonly string[] = [...new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype'])];
