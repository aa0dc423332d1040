import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The project's root folder (compiled code runs from dist/src/core/). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
