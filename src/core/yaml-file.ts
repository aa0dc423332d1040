/**
 * A parsed YAML file that remembers where every node came from, so a problem
 * found later at a path (`sources.kyc.secrets[0]`) can be reported with its
 * line and column. Shared by every YAML file herald reads.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { ConfigIssue } from './errors.js';
import { formatPath, type ConfigPath, type PathIssue } from './config-path.js';

export interface YamlFile {
  file: string;
  /** The plain value (mappings are objects); null for an empty file. */
  data: unknown;
  /** Every syntax error in the file; when there are any, `data` is only a best guess. */
  syntaxIssues: ConfigIssue[];
  /** Turns a problem found at a path into an issue located in this file. */
  locate(issue: PathIssue): ConfigIssue;
}

/**
 * How many aliases (`*name`) a file may expand, the yaml package's own
 * default stated here on purpose: an "alias bomb" (aliases of lists of
 * aliases, a few lines that would expand to millions of nodes) stops at this
 * count with an issue instead of filling the memory. herald's files need a
 * handful at most.
 */
export const MAX_YAML_ALIASES = 100;

/** Parses YAML text read from `file` (the name only labels the issues). */
export function parseYamlFile(file: string, text: string): YamlFile {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending line, which may hold a secret.
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined) => {
    if (offset === undefined) return {};
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntaxIssues: ConfigIssue[] = document.errors.map((error) => ({
    file,
    path: '',
    message: `YAML syntax error: ${withoutSourceText(error.message)}`,
    ...at(error.pos[0]),
  }));
  let data: unknown = null;
  try {
    data = document.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    // The alias limit throws a ReferenceError; anything else toJS throws is reported the same way, never raised.
    const message =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `the file expands more than ${MAX_YAML_ALIASES} YAML aliases (an alias bomb?): write the values out`
        : `YAML error: ${withoutSourceText(error instanceof Error ? error.message : String(error))}`;
    syntaxIssues.push({ file, path: '', message });
  }
  return {
    file,
    data,
    syntaxIssues,
    locate: (issue) => ({
      file,
      path: formatPath(issue.path),
      message: issue.message,
      ...at(offsetOf(document, issue.path, issue.atKey ?? false)),
    }),
  };
}

/**
 * The start of the node at `path`, or of the deepest node on the way there when
 * the path does not exist (a missing key is reported where its parent is).
 */
function offsetOf(document: Document, path: ConfigPath, atKey: boolean): number | undefined {
  let node: unknown = document.contents;
  let offset = startOf(node);
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === String(segment));
      if (!pair) break;
      if (atKey && index === path.length - 1) return startOf(pair.key) ?? offset;
      node = pair.value;
      offset = startOf(pair.value) ?? startOf(pair.key) ?? offset;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      offset = startOf(node) ?? offset;
    } else {
      break;
    }
  }
  return offset;
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}

/**
 * The yaml package quotes source text in some messages (`Unexpected scalar
 * token in YAML stream: "..."`, `Invalid escape sequence \q`); the line and
 * column already say where, and the text may be a secret, so it is cut.
 */
function withoutSourceText(message: string): string {
  return message
    .replace(/:\s*".*"$/s, '')
    .replace(/^(Plain value cannot start with|Invalid escape sequence|Block scalar header includes extra characters:?)\s.*$/s, '$1');
}
