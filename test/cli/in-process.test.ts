/**
 * The CLI tests run most commands inside the test process (test/helpers/cli-in-process.ts):
 * that is only sound while such a run prints and ends exactly as the built bin
 * run as a process does. Checked here for each way a command ends: output and
 * exit 0, a CliError through exitWith, a config error, and
 * commander's own exit (an unknown command; `--version`: test/cli/errors.test.ts).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { runHerald } from '../helpers/cli.js';

const SHIPPED_CONFIG = path.join(PACKAGE_ROOT, 'herald.config.yaml');
const EXAMPLE_ENV = parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8'));

describe('herald CLI run in the test process', function () {
  this.timeout(60_000);

  const cases: Array<[string, string[], NodeJS.ProcessEnv]> = [
    ['exit 0 with output (check)', ['--config', SHIPPED_CONFIG, 'check'], EXAMPLE_ENV],
    ['a CliError, exit 2 (an unknown sample)', ['--config', SHIPPED_CONFIG, 'send', 'facesign', '--sample', 'session.nope'], EXAMPLE_ENV],
    ['a config error, exit 1 (a variable unset)', ['--config', SHIPPED_CONFIG, 'check'], { ...EXAMPLE_ENV, FACESIGN_WEBHOOK_SECRET: undefined }],
    ["commander's error (an unknown command)", ['no-such-command'], {}],
  ];
  for (const [what, args, env] of cases) {
    it(`prints and exits as the process does: ${what}`, async () => {
      const inProcess = await runHerald(args, env);
      const asProcess = await runHerald(args, env, { process: true });
      assert.deepEqual(inProcess, asProcess);
      assert.ok(inProcess.stdout.length + inProcess.stderr.length > 0);
    });
  }

  it('leaves the test process as it was: argv, env, exit, the streams', async () => {
    const before = { argv: process.argv, env: process.env, exit: process.exit, write: process.stdout.write, errWrite: process.stderr.write };
    const result = await runHerald(['--config', '/nonexistent/herald.config.yaml', 'check'], { HERALD_IN_PROCESS_PROBE: 'x' });
    assert.equal(result.code, 1);
    assert.deepEqual({ argv: process.argv, env: process.env, exit: process.exit, write: process.stdout.write, errWrite: process.stderr.write }, before);
    assert.equal(process.env.HERALD_IN_PROCESS_PROBE, undefined);
    assert.equal(process.exitCode, undefined);
  });
});
