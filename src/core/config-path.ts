/**
 * Paths inside a parsed config tree, and problems found at a path before they
 * are located in a file (a ConfigIssue adds the file, line and column).
 */

/** Keys and list indexes from the root, e.g. `['sources', 'kyc', 'secrets', 0]`. */
export type ConfigPath = readonly (string | number)[];

export interface PathIssue {
  path: ConfigPath;
  message: string;
  /** Locate the key rather than its value: for keys that should not be there. */
  atKey?: boolean;
  /** The value names an environment variable that is not set (commands that do not use the value may go on). */
  unsetVariable?: boolean;
}

const PLAIN_KEY = /^[A-Za-z0-9_-]+$/;

/** Writes a path the way people read it: `sources.kyc.secrets[0]`, `headers["X Api"]`. */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text ? `.${segment}` : segment;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** The value at a path, or undefined when the tree has no such path. */
export function valueAt(tree: unknown, path: ConfigPath): unknown {
  let node = tree;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** Keys whose values are secrets (or may embed credentials): never echoed in a message. */
const SECRET_KEYS = new Set(['secrets', 'token', 'secret', 'url', 'smtp', 'store', 'headers']);

/** Whether the value at this path may hold a secret (the path or an ancestor is a secret key). */
export function holdsSecret(path: ConfigPath): boolean {
  return path.some((segment) => typeof segment === 'string' && SECRET_KEYS.has(segment));
}
