/**
 * Runs before `tsc`, whose build is incremental (tsconfig.json: the build info
 * lives in dist/, so deleting dist/ starts afresh). tsc never deletes an
 * output, and it trusts its build info over what is on disk:
 * - a compiled file whose source is gone (a deleted or renamed file) is
 *   removed here, or a deleted test would still run from dist/test/;
 * - when a source tsc compiled before has no compiled file now (part of
 *   dist/ deleted by hand), the build info is removed, so that tsc compiles
 *   everything again (a new source is compiled anyway).
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const DIST = 'dist';
const SOURCE_FOLDERS = ['src', 'test', 'demo', 'bench'];

if (existsSync(DIST)) {
  let removed = 0;
  for (const file of readdirSync(DIST, { recursive: true })) {
    // dist/bin/ is the bundle's (scripts/bundle.mjs), made anew by every build.
    if (!SOURCE_FOLDERS.includes(file.split(path.sep)[0])) continue;
    const match = /^(.*)\.js(\.map)?$/.exec(file);
    if (match && !existsSync(`${match[1]}.ts`)) {
      rmSync(path.join(DIST, file));
      removed++;
    }
  }
  if (removed > 0) console.log(`prune-dist: removed ${removed} compiled files whose source is gone`);

  // Sources tsc has compiled before, by its build info (paths relative to dist/); new ones it compiles anyway.
  const info = path.join(DIST, '.tsbuildinfo');
  const known = existsSync(info) ? compiledBefore(info) : new Set();
  const sources = SOURCE_FOLDERS.flatMap((folder) => readdirSync(folder, { recursive: true }).map((file) => path.join(folder, file)));
  const lost = known ? sources.filter((file) => known.has(file) && !existsSync(path.join(DIST, file.replace(/\.ts$/, '.js')))) : ['an unreadable build info'];
  if (lost.length > 0) {
    rmSync(info, { force: true });
    console.log(`prune-dist: ${lost.length} compiled files are missing (${lost[0]}...): compiling everything`);
  }
}

/** The sources listed in tsc's build info, or undefined when it cannot be read (it is then removed). */
function compiledBefore(info) {
  try {
    const { fileNames } = JSON.parse(readFileSync(info, 'utf8'));
    return new Set(fileNames.filter((name) => name.startsWith('../') && name.endsWith('.ts') && !name.endsWith('.d.ts')).map((name) => name.slice(3)));
  } catch {
    return undefined;
  }
}
