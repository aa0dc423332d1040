/**
 * `herald serve` as a separate process, logging as set by the environment:
 * HERALD_LOG_FORMAT=pretty gives one readable, colored line per entry, none
 * lost at shutdown and none with a secret; without it, JSON lines as before.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { loadSample } from '../../src/providers/samples.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { freePort, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { TEST_SECRETS, testSource } from '../helpers/config.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { HOOK_SECRET, writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

const ADMIN_TOKEN = 'pretty-logs-admin-token-Rk40';

describe('herald serve logs, set by the environment', function () {
  this.timeout(60_000);
  let dir: string;
  let sink: HttpSink;
  let port: number;
  let config: string;

  before(async () => {
    dir = tempDir();
    sink = await startHttpSink(() => ({ status: 200 }));
    port = await freePort();
    config = writeHookConfig(dir, port, sink.url);
  });
  after(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs herald with `env`: one accepted event (delivered to the sink), one refused; then SIGTERM. Returns its stdout. */
  async function serveOnce(env: NodeJS.ProcessEnv): Promise<string> {
    const herald: ServeProcess = await serveHerald(
      ['--config', config],
      port,
      { HERALD_LOG_LEVEL: 'info', HERALD_ADMIN_TOKEN: ADMIN_TOKEN, ...env },
      { captureStdout: true },
    );
    try {
      const source = testSource('facesign', 'facesign');
      const post = (request: { body: Buffer; headers: Record<string, string> }) =>
        fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers: request.headers, body: new Uint8Array(request.body) });
      const sent = sink.requests.length;
      assert.equal((await post(signedRequest(source, PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now())))).status, 200);
      const forged = { ...source, secrets: ['not-the-secret'] };
      assert.equal((await post(signedRequest(forged, loadSample('facesign', 'session.status')))).status, 401);
      await sink.waitFor(sent + 1);
    } finally {
      herald.child.kill('SIGTERM');
    }
    const { code } = await herald.exited;
    assert.equal(code, 0, herald.stderr());
    assert.equal(herald.stderr(), '');
    const stdout = herald.stdout();
    for (const secret of [TEST_SECRETS.facesign, HOOK_SECRET, HOOK_SECRET.replace(/^whsec_/, ''), ADMIN_TOKEN, `${sink.url}/hook`]) {
      assert.ok(!stdout.includes(secret), `${secret} in the logs:\n${stdout}`);
    }
    return stdout;
  }

  it('HERALD_LOG_FORMAT=pretty: one colored, readable line per entry, the last ones flushed at shutdown', async () => {
    const stdout = await serveOnce({ HERALD_LOG_FORMAT: 'pretty', FORCE_COLOR: '1', NO_COLOR: undefined });
    assert.match(stdout, /\x1b\[32mINFO\x1b\[39m/, 'the level is colored');
    const lines = stripVTControlCharacters(stdout).trimEnd().split('\n');
    for (const line of lines) assert.match(line, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] (INFO|WARN): \S/, line);
    assert.match(lines[0]!, new RegExp(`INFO: herald is listening \\{"port":${port},`));
    assert.ok(
      lines.some((l) => /INFO: webhook \{"source":"facesign","status":200,"reason":"stored","eventId":"[^"]+"/.test(l)),
      'the accepted request',
    );
    assert.ok(
      lines.some((l) => /INFO: webhook \{"source":"facesign","status":401,"reason":"signature-mismatch"/.test(l)),
      'the refused request, with its reason',
    );
    assert.ok(lines.some((l) => /INFO: delivery attempt \{"deliveryId":"[^"]+",.*"destination":"hook","attempt":1,"outcome":"delivered","status":200/.test(l)));
    // An attempt still in flight at the signal (the deliver thread's, say) is logged after it: that is what shutting down waits for.
    const shuttingDown = lines.findIndex((l) => /INFO: shutting down: finishing requests and deliveries in flight \{"signal":"SIGTERM"/.test(l));
    assert.ok(shuttingDown > 0 && lines.slice(shuttingDown + 1, -1).every((l) => /INFO: delivery attempt /.test(l)), lines.join('\n'));
    assert.match(lines.at(-1)!, /INFO: stopped$/, 'the last line, written just before exit, is not lost');
  });

  it('without HERALD_LOG_FORMAT: JSON lines, as before', async () => {
    const stdout = await serveOnce({ HERALD_LOG_FORMAT: undefined, FORCE_COLOR: '1' });
    const entries = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; service: string; level: number });
    assert.equal(entries[0]!.msg, 'herald is listening');
    assert.ok(entries.every((e) => e.service === 'herald'));
    assert.ok(entries.some((e) => e.msg === 'delivery attempt'));
    assert.equal(entries.at(-1)!.msg, 'stopped');
  });
});
