/**
 * The whole suite, as `npm test` runs it: the settings of .mocharc.json, two
 * parallel workers, and every test file, the longest first. Mocha hands the
 * files to its workers in the order given; alphabetical order left two long
 * ones (the browser test and the quick bench) to overlap late and the other
 * worker idle meanwhile, 106-119 s against 93 s in this order, measured back
 * to back on an idle machine. A file not named here runs after these, in
 * alphabetical order; add one when a per-file profile shows it among the
 * longest (README, "How long").
 */
const { readdirSync } = require('node:fs');
const path = require('node:path');
const base = require('./.mocharc.json');

const LONGEST_FIRST = [
  'http/console-browser',
  'bench/quick',
  'e2e/postgres-takeover',
  'cli/at-rest',
  'http/hostile',
  'e2e/batching-processes',
  'e2e/postgres-cluster',
  'e2e/crash',
  'e2e/pretty-logs',
  'store/postgres',
  'e2e/shutdown',
  'e2e/alerts',
  'cli/errors',
  'e2e/live-reload',
  'e2e/demo',
  'cli/in-process',
].map((name) => `dist/test/${name}.test.js`);

const all = readdirSync('dist/test', { recursive: true })
  .filter((file) => file.endsWith('.test.js'))
  .map((file) => path.posix.join('dist/test', file.split(path.sep).join('/')))
  .sort();
const missing = LONGEST_FIRST.filter((file) => !all.includes(file));
if (missing.length > 0) throw new Error(`.mocharc.suite.cjs names test files that are not built: ${missing.join(', ')}`);

module.exports = { ...base, parallel: true, jobs: 2, spec: [...LONGEST_FIRST, ...all.filter((file) => !LONGEST_FIRST.includes(file))] };
