/**
 * Removes compiled files whose TypeScript source is gone (a deleted or renamed
 * file). The build is incremental (tsconfig.json: the build info lives in
 * dist/, so deleting dist/ starts afresh), and tsc never deletes an output:
 * without this, a deleted test file would still run from dist/test/.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const DIST = 'dist';
let removed = 0;
for (const file of readdirSync(DIST, { recursive: true })) {
  const match = /^(.*)\.js(\.map)?$/.exec(file);
  if (!match) continue;
  if (!existsSync(`${match[1]}.ts`)) {
    rmSync(path.join(DIST, file));
    removed++;
  }
}
if (removed > 0) console.log(`prune-dist: removed ${removed} compiled files whose source is gone`);
