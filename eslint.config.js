// ESLint: typescript-eslint's recommended rules, and herald's layers as an
// import rule (README, "Development"). Formatting is Prettier's job, not ESLint's.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, bottom to top. A folder may import its own layer and the
 * layers below it, never one above; the folders of one layer do not import
 * each other (config, providers, routing, render, channels and store import
 * only core). `app` is the composition root (the only place that knows every
 * concrete class); `cli` sits beside it on top and may use it.
 */
const LAYERS = [['core'], ['config', 'providers', 'routing', 'render', 'channels', 'store'], ['pipeline'], ['http'], ['app'], ['cli']];
const FOLDERS = LAYERS.flat();

/** The folders of src/ that `folder` must not import. */
function forbiddenFolders(folder) {
  const level = LAYERS.findIndex((layer) => layer.includes(folder));
  const above = LAYERS.slice(level + 1).flat();
  // core's neighbours: the folders of the second layer import only core.
  const siblings = level === 1 ? LAYERS[1].filter((other) => other !== folder) : [];
  return [...above, ...siblings];
}

/**
 * A relative import that climbs out of the file's folder into one of
 * `folders` (`../pipeline/...`, `../../http/app.js`). Only src/'s top folders
 * are named by these, none of their subfolders.
 */
function upwardImport(folders, layerName) {
  return {
    regex: `^(\\.\\./)+(${folders.join('|')})/`,
    message: `${layerName} must not import ${folders.join(', ')}: dependencies point down (README, "Development").`,
  };
}

/** Libraries that belong to one folder: Koa to http/, each database driver to its store. */
const LIBRARIES = [
  { names: ['koa', '@koa/*', 'koa-*'], home: 'http', why: 'Koa belongs in src/http/' },
  { names: ['better-sqlite3'], home: 'store/sqlite', why: 'the SQLite driver belongs in src/store/sqlite/' },
  { names: ['pg', 'pg-*'], home: 'store/postgres', why: 'the PostgreSQL driver belongs in src/store/postgres/' },
];

function restrictedImports(folder, subfolder) {
  const forbidden = forbiddenFolders(folder);
  const where = subfolder ? `${folder}/${subfolder}` : folder;
  const libraries = LIBRARIES.filter((library) => library.home !== where).map((library) => ({
    group: library.names,
    message: `${library.why}.`,
  }));
  const patterns = [...(forbidden.length > 0 ? [upwardImport(forbidden, `src/${folder}/`)] : []), ...libraries];
  return ['error', { patterns }];
}

/** One block per folder (and per store), since a later block's options replace an earlier one's. */
const layerBlocks = [
  ...FOLDERS.map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports(folder) },
  })),
  ...['sqlite', 'postgres'].map((store) => ({
    files: [`src/store/${store}/**/*.ts`],
    rules: { 'no-restricted-imports': restrictedImports('store', store) },
  })),
];

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // Unused names are TypeScript's check (noUnusedLocals); `_` marks a parameter kept for its position.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // herald matches control characters on purpose: it strips them from terminal output and logs.
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Tests build deliberately malformed payloads by mutating copies; typing each mutation adds nothing.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  ...layerBlocks,
  {
    // Node's globals for the files written in plain JavaScript.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
  },
  {
    // mocha loads its reporter with require(): test/support/summary-reporter.cjs is CommonJS.
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
