/**
 * Runs before `tsc`, whose build is incremental (tsconfig.json: the build info
 * lives in dist/, so deleting dist/ starts afresh). tsc never deletes an
 * output, and it trusts its build info over what is on disk:
 * - a compiled file whose source is gone (a deleted or renamed file) is
 *   removed here, or a deleted test would still run from dist/test/;
 * - when a source has no compiled file (part of dist/ deleted by hand), the
 *   build info is removed, so that tsc compiles everything again.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const DIST = 'dist';
const SOURCE_FOLDERS = ['src', 'test', 'demo', 'bench'];

if (existsSync(DIST)) {
  let removed = 0;
  for (const file of readdirSync(DIST, { recursive: true })) {
    const match = /^(.*)\.js(\.map)?$/.exec(file);
    if (match && !existsSync(`${match[1]}.ts`)) {
      rmSync(path.join(DIST, file));
      removed++;
    }
  }
  if (removed > 0) console.log(`prune-dist: removed ${removed} compiled files whose source is gone`);

  const sources = SOURCE_FOLDERS.flatMap((folder) => readdirSync(folder, { recursive: true }).map((file) => path.join(folder, file)));
  const uncompiled = sources.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !existsSync(path.join(DIST, file.replace(/\.ts$/, '.js'))));
  if (uncompiled.length > 0) {
    rmSync(path.join(DIST, '.tsbuildinfo'), { force: true });
    console.log(`prune-dist: ${uncompiled.length} sources have no compiled file (${uncompiled[0]}...): compiling everything`);
  }
}
