/**
 * Loads herald.config.yaml: the one entry point of src/config/.
 * Layers, each reporting every problem it finds: YAML syntax, environment
 * substitution, the schema, then the checks the schema cannot express. All of
 * them end in one ConfigError, sorted by line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { HeraldConfig } from '../core/config.js';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { crossCheck } from './checks.js';
import { readDotEnv, substituteEnv, type Env } from './env.js';
import { formatPath, type PathIssue } from '../core/config-path.js';
import type { RawConfig } from './raw-config.js';
import { resolveConfig } from './resolve.js';
import { validateConfigShape } from './schema.js';
import { parseYamlFile } from '../core/yaml-file.js';

/**
 * Reads, checks and resolves a config file. Variables come from `env`, then
 * from a `.env` file beside the config (`env` wins; neither is modified).
 * Throws one ConfigError listing every problem found; no message contains a
 * secret.
 */
export function loadConfig(file: string, env: Env = process.env): HeraldConfig {
  const text = readConfigFile(file);
  const dotEnv = readDotEnv(path.join(path.dirname(file), '.env'));
  const fullEnv: Env = { ...dotEnv.values, ...env };

  const yaml = parseYamlFile(file, text);
  // After a syntax error the tree is a guess: checking it would mostly report noise.
  if (yaml.syntaxIssues.length > 0) throw new ConfigError([...dotEnv.issues, ...yaml.syntaxIssues]);
  if (yaml.data === null || yaml.data === undefined) {
    throw new ConfigError([...dotEnv.issues, { file, path: '', message: 'the file is empty: expected sources, destinations and settings' }]);
  }

  const pathIssues: PathIssue[] = [];
  const tree = substituteEnv(yaml.data, fullEnv, [], pathIssues);
  pathIssues.push(...validateConfigShape(tree), ...crossCheck(tree, fullEnv));

  const issues = [...dotEnv.issues, ...firstPerPath(pathIssues).map(yaml.locate)];
  if (issues.length > 0) throw new ConfigError(sortByLine(issues));
  return resolveConfig(tree as RawConfig, path.resolve(file), fullEnv);
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'the config file does not exist' : `cannot read the config file (${code ?? String(error)})`;
    throw new ConfigError([{ file, path: '', message }]);
  }
}

/**
 * One problem per place: an unset variable also fails the schema at the same
 * path, and a URL can fail both the schema and the URL parser; the first
 * layer's message is the one that explains the cause.
 */
function firstPerPath(issues: PathIssue[]): PathIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${formatPath(issue.path)}${issue.atKey ? ' (key)' : ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortByLine(issues: ConfigIssue[]): ConfigIssue[] {
  // Array.prototype.sort is stable: issues without a line keep their order, first.
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}
