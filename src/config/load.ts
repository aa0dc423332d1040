/**
 * Loads herald.config.yaml: the one entry point of src/config/.
 * Layers, each reporting every problem it finds: YAML syntax, environment
 * substitution, the schema, then the checks the schema cannot express. All of
 * them end in one ConfigError, sorted by line.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DESTINATION_TYPES, type DestinationType, type HeraldConfig } from '../core/config.js';
import { ConfigError, type ConfigIssue } from '../core/errors.js';
import { crossCheck } from './checks.js';
import { readDotEnv, substituteEnv, type Env } from './env.js';
import { formatPath, type PathIssue } from '../core/config-path.js';
import type { RawConfig } from './raw-config.js';
import { DEFAULTS } from './defaults.js';
import { resolveConfig, resolveStore } from './resolve.js';
import { validateConfigShape } from './schema.js';
import { parseYamlFile } from '../core/yaml-file.js';

export interface LoadOptions {
  /**
   * The sources' secrets may be unset: for commands that route and render
   * stored events but receive none (`herald replay`). Anything else must
   * still be complete.
   */
  withoutSourceSecrets?: boolean;
  /**
   * With withoutSourceSecrets: the sources' `api` sections must still be
   * complete (`herald replay --refresh-session` calls FaceSign with their key).
   */
  withSourceApis?: boolean;
}

/**
 * Reads, checks and resolves a config file. Variables come from `env`, then
 * from a `.env` file beside the config (`env` wins; neither is modified).
 * Throws one ConfigError listing every problem found; no message contains a
 * secret.
 */
export function loadConfig(file: string, env: Env = process.env, options: LoadOptions = {}): HeraldConfig {
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

  const spared = (issue: PathIssue) =>
    options.withoutSourceSecrets && issue.unsetVariable && issue.path[0] === 'sources' && !(options.withSourceApis && issue.path[2] === 'api');
  const needed = firstPerPath(pathIssues).filter((issue) => !spared(issue));
  const issues = [...dotEnv.issues, ...needed.map(yaml.locate)];
  if (issues.length > 0) throw new ConfigError(sortByLine(issues));
  return resolveConfig(tree as RawConfig, path.resolve(file), fullEnv);
}

/**
 * The store setting alone, for the commands that work on the store and need
 * nothing else (`events`, `dlq`): HERALD_STORE when set (the config file is
 * then not read at all), else the config's `store` (or its default), with
 * `${VAR}` substituted. Other settings, and their variables, are not looked at.
 */
export function loadStoreSetting(file: string, env: Env = process.env): string {
  const folder = path.dirname(path.resolve(file));
  const fullEnv: Env = { ...readDotEnv(path.join(folder, '.env')).values, ...env };
  if (fullEnv.HERALD_STORE) return resolveStore(fullEnv.HERALD_STORE, folder);

  const yaml = parseYamlFile(file, readConfigFile(file));
  if (yaml.syntaxIssues.length > 0) throw new ConfigError(yaml.syntaxIssues);
  const written = (yaml.data as { store?: unknown } | null)?.store ?? DEFAULTS.store;
  const pathIssues: PathIssue[] = [];
  const store = substituteEnv(written, fullEnv, ['store'], pathIssues);
  if (pathIssues.length === 0 && (typeof store !== 'string' || !STORE_URL.test(store))) {
    pathIssues.push({ path: ['store'], message: 'expected sqlite:<path> or a postgres:// URL' });
  }
  if (pathIssues.length > 0) throw new ConfigError(pathIssues.map(yaml.locate));
  return resolveStore(store as string, folder);
}

/** Where a config's rules and templates are, and its destinations' channels (unknown: undefined). */
export interface RoutingLocation {
  rulesDir: string;
  templatesDir: string;
  destinations?: Map<string, DestinationType>;
}

/**
 * Best effort, for a config that failed its checks: where its rules and
 * templates are, so that they can be checked in the same run. Undefined when
 * the file cannot even be parsed. Destinations are given only when every one
 * of them has a known type (else every rule naming one would look wrong).
 */
export function locateRouting(file: string): RoutingLocation | undefined {
  let data: unknown;
  try {
    const yaml = parseYamlFile(file, readFileSync(file, 'utf8'));
    if (yaml.syntaxIssues.length > 0) return undefined;
    data = yaml.data;
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object') return undefined;
  const raw = data as { rules?: unknown; templates?: unknown; destinations?: unknown };
  const folder = path.dirname(path.resolve(file));
  const dir = (value: unknown, fallback: string) => path.resolve(folder, typeof value === 'string' && !value.includes('${') ? value : fallback);
  return {
    rulesDir: dir(raw.rules, DEFAULTS.rules),
    templatesDir: dir(raw.templates, DEFAULTS.templates),
    destinations: destinationChannels(raw.destinations),
  };
}

function destinationChannels(destinations: unknown): Map<string, DestinationType> | undefined {
  if (destinations === null || typeof destinations !== 'object' || Array.isArray(destinations)) return undefined;
  const types = new Map<string, DestinationType>();
  for (const [name, destination] of Object.entries(destinations)) {
    const type = (destination as { type?: unknown } | null)?.type;
    if (!DESTINATION_TYPES.includes(type as DestinationType)) return undefined;
    types.set(name, type as DestinationType);
  }
  return types;
}

/** The schema's pattern for `store`. */
const STORE_URL = /^(sqlite:.+|postgres(ql)?:\/\/.+)$/;

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
