/**
 * The config file's JSON Schema (schema/herald.config.schema.json, the same
 * file editors use for autocompletion) and its compiled validator.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type SchemaObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { PACKAGE_ROOT } from '../core/paths.js';
import type { PathIssue } from '../core/config-path.js';
import { describeSchemaErrors } from './schema-messages.js';

export const CONFIG_SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schema', 'herald.config.schema.json');

/**
 * How herald compiles its own schema files (this one and the rules'): the
 * files are checked against JSON Schema's meta-schema by a test
 * (test/config/schema-files.test.ts), not again at every start, and their
 * validators run once per load, so the code ajv generates for them is not
 * optimized either. Each halves a compile: about 0.1 CPU-s of every start.
 */
export const SCHEMA_FILE_OPTIONS = { validateSchema: false, code: { optimize: false } } as const;

let schema: SchemaObject | undefined;
let validator: ValidateFunction | undefined;

/** The schema as parsed JSON, read once per process. */
export function configSchema(): SchemaObject {
  schema ??= JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')) as SchemaObject;
  return schema;
}

/**
 * Checks a substituted config tree against the schema. Like the loader's
 * later steps, it edits the tree in place: strings that stand for numbers or
 * booleans become them (so `port: "${PORT:-8080}"` works) and the schema's
 * defaults are filled in. Returns every problem, in terms people read.
 */
export function validateConfigShape(tree: unknown): PathIssue[] {
  const validate = compiledValidator();
  return validate(tree) ? [] : describeSchemaErrors(validate.errors ?? [], tree, configSchema());
}

function compiledValidator(): ValidateFunction {
  if (!validator) {
    // verbose: errors carry their schema, which names the keys a typo may have meant. SCHEMA_FILE_OPTIONS: not
    // checked against the meta-schema, nor optimized, at every start.
    const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, verbose: true, allowUnionTypes: true, ...SCHEMA_FILE_OPTIONS });
    // ajv-formats is CommonJS; under NodeNext its default import is the module object.
    addFormats.default(ajv);
    validator = ajv.compile(configSchema());
  }
  return validator;
}
