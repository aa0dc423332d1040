/**
 * Reads rules/*.yaml: every file in name order, each a list of rules checked
 * against schema/herald.rules.schema.json. Problems are reported all at once,
 * located by file, line and path (`[2].notify[0].to`). Meaning (unknown
 * destinations, templates, operators, duplicate names) is checked by routing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type SchemaObject, type ValidateFunction } from 'ajv';
import type { ConfigIssue } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import type { RuleDefinition } from '../core/rules.js';
import type { ConfigPath } from '../core/config-path.js';
import { SCHEMA_FILE_OPTIONS } from './schema.js';
import { describeSchemaErrors } from './schema-messages.js';
import { readTextFile } from '../core/read-text-file.js';
import { parseYamlFile, type YamlFile } from '../core/yaml-file.js';

export const RULES_SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schema', 'herald.rules.schema.json');

export interface LoadedRules {
  definitions: RuleDefinition[];
  /** A digest of every rule file's name and content: the rule set's version. */
  version: string;
  issues: ConfigIssue[];
  /** Locates a problem found later at a path inside one rule. */
  locate(rule: RuleDefinition, path: ConfigPath, message: string, atKey?: boolean): ConfigIssue;
}

let rulesSchema: SchemaObject | undefined;
let validator: ValidateFunction | undefined;

function validateRules(): ValidateFunction {
  if (!validator) {
    rulesSchema = JSON.parse(readFileSync(RULES_SCHEMA_FILE, 'utf8')) as SchemaObject;
    validator = new Ajv({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true, ...SCHEMA_FILE_OPTIONS }).compile(rulesSchema);
  }
  return validator;
}

/** The rule files of a folder, in name order. */
function ruleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => path.join(dir, name));
}

export function loadRules(dir: string): LoadedRules {
  const issues: ConfigIssue[] = [];
  const definitions: RuleDefinition[] = [];
  const parsed = new Map<string, YamlFile>();
  const digest = createHash('sha256');

  let files: string[] = [];
  try {
    files = ruleFiles(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    issues.push({ file: dir, path: '', message: code === 'ENOENT' ? 'the rules folder does not exist' : `cannot read the rules folder (${code})` });
  }

  for (const file of files) {
    const read = readTextFile(file, 'rule file');
    if ('issue' in read) {
      issues.push(read.issue);
      continue;
    }
    const { text } = read;
    digest.update(`${path.basename(file)}\0${text}\0`);
    const yaml = parseYamlFile(file, text);
    parsed.set(file, yaml);
    if (yaml.syntaxIssues.length > 0) {
      issues.push(...yaml.syntaxIssues);
      continue;
    }
    const data = yaml.data ?? [];
    const validate = validateRules();
    if (!validate(data)) {
      issues.push(...describeSchemaErrors(validate.errors ?? [], data, rulesSchema!).map(yaml.locate));
      continue;
    }
    (data as Array<Omit<RuleDefinition, 'file' | 'index'>>).forEach((rule, index) => definitions.push({ ...rule, file, index }));
  }

  return {
    definitions,
    version: digest.digest('hex').slice(0, 12),
    issues,
    locate: (rule, subPath, message, atKey) => parsed.get(rule.file)!.locate({ path: [rule.index, ...subPath], message, atKey }),
  };
}
