/**
 * docs/herald.service, the systemd unit the README offers: its commands are
 * run here the way systemd runs them (ExecStart, ExecReload with $MAINPID,
 * KillSignal), with /opt/herald standing for this checkout.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { EXIT } from '../../src/cli/exit.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { freePort } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';

const UNIT_FILE = path.join(PACKAGE_ROOT, 'docs/herald.service');
const INSTALL_DIR = '/opt/herald';

/** The [Service] section's settings (a key given twice keeps the last, as systemd does for these). */
function serviceSettings(text: string): Record<string, string> {
  const settings: Record<string, string> = {};
  let section = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!;
    else if (section === 'Service') {
      const at = line.indexOf('=');
      settings[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return settings;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('docs/herald.service', function () {
  this.timeout(40_000);
  const unit = serviceSettings(readFileSync(UNIT_FILE, 'utf8'));

  it('passes systemd-analyze verify', function () {
    if (!existsSync('/usr/bin/systemd-analyze')) {
      // Never skipped: like chromium for the console, systemd's checker is something the tests need (README,
      // "What the tests need"), and .ci/run installs it where it is missing.
      throw new Error('this test needs systemd-analyze at /usr/bin/systemd-analyze: apt-get install -y systemd (README, "What the tests need")');
    }
    execFileSync('/usr/bin/systemd-analyze', ['verify', UNIT_FILE], { stdio: 'pipe' });
  });

  it('runs node on the built bin (not npm), restarts on a store or port failure, and not on a config error', () => {
    assert.match(unit.ExecStart!, /^\/usr\/bin\/node --max-semi-space-size=8 \/opt\/herald\/dist\/bin\/herald\.js .*serve$/);
    assert.doesNotMatch(unit.ExecStart!, /npm|npx/);
    assert.equal(unit.Restart, 'on-failure');
    assert.deepEqual(unit.RestartPreventExitStatus!.split(/\s+/).map(Number), [EXIT.failed, EXIT.input]);
    // Longer than the default shutdownGrace, so herald's own grace period decides.
    assert.ok(Number(unit.TimeoutStopSec) > 30);
  });

  it('serves with ExecStart, reloads on ExecReload, and exits 0 on KillSignal', async () => {
    const dir = tempDir();
    const port = await freePort();
    const [node, ...args] = unit.ExecStart!.split(' ').map((word) => word.replaceAll(INSTALL_DIR, PACKAGE_ROOT));
    assert.equal(node, '/usr/bin/node');
    // What EnvironmentFile= would hold: the .env.example values, a port and a store of this test's.
    const env = {
      ...process.env,
      ...parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8')),
      PORT: String(port),
      HERALD_STORE: `sqlite:${path.join(dir, 'herald.db')}`,
      HERALD_LOG_LEVEL: 'info',
    };
    const child = spawn(process.execPath, args, { cwd: unit.WorkingDirectory!.replace(INSTALL_DIR, PACKAGE_ROOT), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stdout.on('data', (chunk) => (logs += chunk.toString()));
    child.stderr.on('data', (chunk) => (logs += chunk.toString()));
    const exited = once(child, 'exit');
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 'herald to be ready');

      const [killBin, ...killArgs] = unit.ExecReload!.split(' ').map((word) => word.replace('$MAINPID', String(child.pid)));
      execFileSync(killBin!, killArgs);
      await waitFor(async () => logs.includes('config reloaded'), 'the reload to be logged');
      assert.ok((await fetch(`http://127.0.0.1:${port}/readyz`)).ok, 'still serving after the reload');

      child.kill(unit.KillSignal as NodeJS.Signals);
      const [code] = await exited;
      assert.equal(code, 0, logs);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
