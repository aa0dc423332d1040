/**
 * Turns ajv's errors into messages that say what was expected and what to do,
 * located by path. Values are echoed only where they cannot be secrets.
 */
import type { ErrorObject, SchemaObject } from 'ajv';
import { parseDuration } from '../core/duration.js';
import { closestMatch } from '../core/closest.js';
import { holdsSecret, valueAt, type ConfigPath, type PathIssue } from '../core/config-path.js';

/** Describes every error worth reporting; `tree` is the data that was validated. */
export function describeSchemaErrors(errors: ErrorObject[], tree: unknown, schema: SchemaObject): PathIssue[] {
  const patterns = patternProblems(schema);
  return errors.flatMap((error) => describe(error, tree, patterns) ?? []);
}

function describe(error: ErrorObject, tree: unknown, patterns: PatternProblems): PathIssue | undefined {
  const path = toPath(error.instancePath, tree);
  const key = String([...path].reverse().find((segment) => typeof segment === 'string') ?? 'value');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
      // Noise: the failing `then` branch reports its own, more precise errors.
      return undefined;
    case 'required': {
      const missing = String(params.missingProperty);
      const which = error.schemaPath.includes('/then/') ? ` for ${kindAt(tree, path)}` : '';
      return { path, message: `"${missing}" is required${which}` };
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      const allowed = Object.keys((error.parentSchema?.properties ?? {}) as object);
      const guess = closestMatch(extra, allowed);
      const advice = guess ? `did you mean "${guess}"?` : `expected one of ${allowed.join(', ')}`;
      return { path: [...path, extra], atKey: true, message: `unknown key "${extra}": ${advice}` };
    }
    case 'false schema':
      // A key the schema forbids for this provider or destination type (see its if/then).
      return { path, atKey: true, message: notApplicable(key, tree, path.slice(0, -1)) };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).join(', ');
      return { path, message: `unknown ${key} ${show(error.data, path)}: expected one of ${allowed}` };
    }
    case 'propertyNames': {
      const name = String(params.propertyName);
      const kind = path[0] === 'sources' ? 'source' : path[0] === 'destinations' ? 'destination' : 'key';
      const message = `${kind} name "${name}" is not allowed: use lower-case letters, digits, "-" and "_", starting with a letter or digit`;
      return { path: [...path, name], atKey: true, message };
    }
    case 'pattern':
      // A pattern error on a key name is reported once, as the propertyNames error above.
      if (error.propertyName !== undefined) return undefined;
      return { path, message: patterns.get(String(params.pattern))?.(error.data, path) ?? 'does not have the expected form' };
    case 'type': {
      // A webhook destination's several keys go in "secrets", as a source's do.
      const hint = key === 'secret' && Array.isArray(error.data) ? ': list several signing keys in "secrets"' : '';
      return { path, message: `expected ${typeNames(params.type)}, got ${kindOfValue(error.data)}${hint}` };
    }
    case 'format':
      return { path, message: params.format === 'uri' ? 'must be a valid URL' : `must be a valid ${String(params.format)}` };
    case 'minLength':
      return { path, message: 'must not be empty' };
    case 'minItems':
      return { path, message: `must list at least ${Number(params.limit)} item${params.limit === 1 ? '' : 's'}` };
    case 'uniqueItems':
      return { path: [...path, Number(params.i)], message: `repeats item ${Number(params.j)} of the list: list each value once` };
    case 'minimum':
      return { path, message: `must be at least ${Number(params.limit)}` };
    case 'maximum':
      return { path, message: `must be at most ${Number(params.limit)}` };
    default:
      return { path, message: error.message ?? 'is not valid' };
  }
}

type PatternProblem = (value: unknown, path: ConfigPath) => string;
type PatternProblems = Map<string, PatternProblem>;

/** What each of the schema's patterns means, keyed by the pattern itself. */
function patternProblems(schema: SchemaObject): PatternProblems {
  // Other schemas (the rules file's) define only some of these, or none.
  const patternOf = (definition: string): string | undefined => schema.definitions?.[definition]?.pattern;
  const entries: Array<[string | undefined, PatternProblem]> = [
    [patternOf('duration'), (value) => durationProblem(String(value))],
    [patternOf('size'), (value, path) => `${show(value, path)} is not a size: write a whole number and a unit (b, kb, mb), e.g. "256kb"`],
    [patternOf('rate'), (value, path) => `${show(value, path)} is not a rate: write a count, "/" and a unit (s, m, h), e.g. "1/s" or "30/m"`],
    [patternOf('httpUrl'), () => 'must be an http:// or https:// URL'],
    [patternOf('smtpUrl'), () => 'must be an smtp:// or smtps:// URL'],
    [schema.properties?.store?.pattern, () => 'must be "sqlite:<path>" or a "postgres://" URL'],
    [patternOf('ruleName'), (value, path) => `${show(value, path)} is not a rule name: use letters, digits, "-", "_" and "."`],
  ];
  return new Map(entries.filter((entry): entry is [string, PatternProblem] => entry[0] !== undefined));
}

/** parseDuration's own message, so the schema and the parser explain a bad duration alike. */
function durationProblem(text: string): string {
  try {
    parseDuration(text);
    return 'is not a duration';
  } catch (error) {
    return (error as Error).message;
  }
}

function notApplicable(key: string, tree: unknown, owner: ConfigPath): string {
  const provider = valueAt(tree, [...owner, 'provider']);
  const hint =
    key === 'secrets' && provider === 'faceio'
      ? ': FACEIO authenticates with a bearer token, use "token"'
      : key === 'token' && provider !== undefined
        ? `: ${String(provider)} signs its webhooks, use "secrets"`
        : key === 'tolerance'
          ? ': FACEIO sends no timestamp'
          : '';
  return `"${key}" does not apply to ${kindAt(tree, owner)}${hint}`;
}

/** "a faceio source", "an email destination": what the block at `path` is. */
function kindAt(tree: unknown, path: ConfigPath): string {
  const [section, name] = path;
  const block = valueAt(tree, [section ?? '', name ?? '']);
  const kind =
    section === 'sources'
      ? `${String(valueAt(block, ['provider']))} source`
      : section === 'destinations'
        ? `${String(valueAt(block, ['type']))} destination`
        : 'this block';
  return /^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`;
}

/** A value for a message: quoted and shortened, or withheld where it may be a secret. */
function show(value: unknown, path: ConfigPath): string {
  if (holdsSecret(path)) return 'value';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeNames(type: unknown): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    array: 'a list',
    object: 'a mapping (key: value)',
    null: 'nothing',
  };
  return (Array.isArray(type) ? type : [type]).map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function kindOfValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number';
  if (typeof value === 'boolean') return 'true or false';
  return 'a string';
}

/** ajv's JSON Pointer (`/sources/kyc/secrets/0`) as a path, with list indexes as numbers. */
function toPath(pointer: string, tree: unknown): ConfigPath {
  const path: (string | number)[] = [];
  let node = tree;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const segment = Array.isArray(node) ? Number(key) : key;
    path.push(segment);
    node = valueAt(node, [segment]);
  }
  return path;
}
