/**
 * One `herald serve` per SQLite file, with real processes: a second serve on
 * the file refuses to start (one line naming the file and the owner, exit 1)
 * instead of sending every delivery a second time; the read-only CLI works
 * beside the owner; and after the owner is killed with SIGKILL, its stale
 * `.owner` file does not block the next serve.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit.js';
import { freePort, runHerald, serveHerald } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

describe('one herald serve per SQLite file', function () {
  this.timeout(60_000);
  let dir: string;
  let sink: HttpSink;

  beforeEach(async () => {
    dir = tempDir();
    sink = await startHttpSink(() => ({ status: 200 }));
  });
  afterEach(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second serve naming the owner, keeps the CLI working, and lets a restart after kill -9 serve', async () => {
    const port = await freePort();
    const config = writeHookConfig(dir, port, sink.url);
    const owner = await serveHerald(['--config', config], port);
    try {
      const second = await runHerald(['--config', config, 'serve'], { PORT: String(await freePort()), HERALD_LOG_LEVEL: 'warn' });
      assert.equal(second.code, EXIT.store, `the second serve should refuse to start: ${second.stderr}`);
      const lines = second.stderr.trim().split('\n');
      assert.equal(lines.length, 1, second.stderr);
      assert.match(
        lines[0]!,
        new RegExp(
          `^herald: ${path.join(dir, 'herald.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is served by another herald \\(pid ${owner.child.pid} on ${hostname()},`,
        ),
      );

      for (const command of [
        ['events', 'list', '--json'],
        ['dlq', 'list', '--json'],
      ]) {
        const result = await runHerald(['--config', config, ...command]);
        assert.equal(result.code, 0, `${command.join(' ')}: ${result.stderr}`);
      }
    } finally {
      owner.child.kill('SIGKILL');
      await owner.exited;
    }

    const restarted = await serveHerald(['--config', config], port);
    restarted.child.kill('SIGTERM');
    assert.equal((await restarted.exited).code, 0);
  });
});
