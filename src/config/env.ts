/**
 * The environment a config sees: `${VAR}` substitution, and the `.env` file
 * beside the config.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { ConfigIssue } from '../core/errors.js';
import type { ConfigPath, PathIssue } from '../core/config-path.js';

export type Env = NodeJS.ProcessEnv;

/**
 * `${NAME}` or `${NAME:-default}`. As in the shell, the default is used when
 * NAME is unset or empty. Anything else (a lone `$`, `${not a name}`) is left
 * as written; there is no escape, so a string cannot contain a literal
 * `${NAME}` reference.
 */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Returns a copy of a parsed YAML tree with every reference in every string
 * value replaced from `env` (keys are left alone). Substitution runs on parsed
 * strings, never on the YAML text, so a value from the environment can never
 * change the file's structure, and is never itself scanned for references.
 * A variable that is unset and has no default adds an issue at `path` naming
 * the variable (never a value) and becomes an empty string.
 */
export function substituteEnv(value: unknown, env: Env, path: ConfigPath, issues: PathIssue[]): unknown {
  if (typeof value === 'string') {
    return value.replace(REFERENCE, (_reference, name: string, fallback: string | undefined) => {
      const set = env[name];
      if (set !== undefined && (set !== '' || fallback === undefined)) return set;
      if (fallback !== undefined) return fallback;
      issues.push({ path, message: `environment variable ${name} is not set (and has no default)`, unsetVariable: true });
      return '';
    });
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => substituteEnv(item, env, [...path, index], issues));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substituteEnv(item, env, [...path, key], issues)]));
  }
  return value;
}

/**
 * Reads a `.env` file (KEY=value lines, parsed by Node's own `util.parseEnv`).
 * A missing file is no error: the file is optional.
 */
export function readDotEnv(file: string): { values: Record<string, string>; issues: ConfigIssue[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { values: {}, issues: [] };
    return { values: {}, issues: [{ file, path: '', message: `cannot read the file (${code ?? String(error)})` }] };
  }
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value !== undefined) values[name] = value;
  }
  return { values, issues: [] };
}
