import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The project's root folder: the nearest folder above this code that holds
 * herald's package.json. The code runs from tsc's output (dist/src/core/) and
 * from the bundle (dist/bin/, README "Building"), at different depths.
 */
export const PACKAGE_ROOT = packageRoot(path.dirname(fileURLToPath(import.meta.url)));

function packageRoot(start: string): string {
  for (let folder = start; ; folder = path.dirname(folder)) {
    const manifest = path.join(folder, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'herald') return folder;
    if (path.dirname(folder) === folder) throw new Error(`herald's package.json is not in any folder above ${start}: run herald from its checkout`);
  }
}
