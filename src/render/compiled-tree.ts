/**
 * A YAML template (slack.yaml, webhook.yaml) compiled once: the same tree with
 * every string leaf parsed as Liquid. Rendering renders each leaf on its own and
 * puts the results back into the tree, so no value, whatever it holds, can
 * change the payload's structure: JSON serialization escapes it.
 */
import type { ConfigIssue } from '../core/errors.js';
import type { ConfigPath } from '../core/config-path.js';
import type { YamlFile } from '../core/yaml-file.js';
import { CompiledLiquid } from './compiled-liquid.js';
import type { OutputKind } from './liquid.js';

export type CompiledTree = CompiledLiquid | CompiledTree[] | { [key: string]: CompiledTree } | number | boolean | null;

/** Compiles every string leaf of a parsed YAML file; `kindOf` picks each leaf's output (its escaping). */
export function compileTree(yaml: YamlFile, kindOf: (path: ConfigPath) => OutputKind): { tree: CompiledTree; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: ConfigPath): CompiledTree => {
    if (typeof node === 'string') {
      const { file, path: where, line, column } = yaml.locate({ path, message: '' });
      const compiled = CompiledLiquid.compile(kindOf(path), node, { file, path: where, ...(line && { line, column }) });
      if (Array.isArray(compiled)) {
        issues.push(...compiled);
        return null;
      }
      return compiled;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]));
    }
    return typeof node === 'number' || typeof node === 'boolean' ? node : null;
  };
  return { tree: walk(yaml.data, []), issues };
}

/** Renders every leaf with `render`, which returns what the payload holds in its place. */
export function renderTree(tree: CompiledTree, render: (leaf: CompiledLiquid) => unknown): unknown {
  if (tree instanceof CompiledLiquid) return render(tree);
  if (Array.isArray(tree)) return tree.map((item) => renderTree(item, render));
  if (tree !== null && typeof tree === 'object') {
    // fromEntries defines own properties: a `__proto__` key stays a key.
    return Object.fromEntries(Object.entries(tree).map(([key, value]) => [key, renderTree(value, render)]));
  }
  return tree;
}
