/**
 * A private copy of the build for one bench run. The bench starts herald and
 * its helpers many times over several minutes; running them from a copy means
 * a rebuild of dist/ meanwhile (another `npm test` in the same tree deletes
 * and recreates it) cannot break the run or change what it measures.
 */
import { cpSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Copies what runs (dist/bin, dist/src, dist/bench) and what it reads at run time from `root` into `into`; node_modules is linked. Returns `into`. */
export function snapshotBuild(root: string, into: string): string {
  mkdirSync(path.join(into, 'dist'), { recursive: true });
  for (const entry of ['dist/bin', 'dist/src', 'dist/bench', 'templates', 'schema', 'samples', 'package.json']) {
    cpSync(path.join(root, entry), path.join(into, entry), { recursive: true });
  }
  symlinkSync(path.join(root, 'node_modules'), path.join(into, 'node_modules'), 'dir');
  return into;
}
