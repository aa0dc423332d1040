/**
 * Live reload: editing a rule file while herald runs changes routing once
 * the edit has settled (250 ms after the last change: well under 2 s on an
 * idle machine; the test waits up to 10 s, as a busy machine's CI run took
 * more than 2 s once); an invalid rule file keeps the previous rules routing, and the admin
 * API's GET /api/health and /metrics report the rejected reload (/readyz
 * stays ready and shows no file path).
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { SHIPPED_TEMPLATES_DIR, TEST_SECRETS, testSource } from '../helpers/config.js';
import { freePort, serveHerald } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { HOOK_SECRET } from '../helpers/herald-process.js';
import { yamlAliasBomb } from '../helpers/hostile-files.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const rule = (name: string) => `- name: ${name}\n  notify: [{ to: hook, template: face-enrolled }]\n`;

describe('live reload', function () {
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

  /** A config with one rule file (rules/r.yaml, rule "first") sending every event to the sink. */
  async function writeConfig() {
    const port = await freePort();
    mkdirSync(path.join(dir, 'rules'));
    const ruleFile = path.join(dir, 'rules', 'r.yaml');
    writeFileSync(ruleFile, rule('first'));
    const config = path.join(dir, 'herald.config.yaml');
    writeFileSync(
      config,
      [
        `server: { port: ${port}, host: 127.0.0.1 }`,
        'store: sqlite:./herald.db',
        'rules: ./rules',
        `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
        `sources: { facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] } }`,
        `destinations: { hook: { type: webhook, url: "${sink.url}/hook", secret: "${HOOK_SECRET}", allowPrivateNetwork: true } }`,
        '',
      ].join('\n'),
    );
    return { port, config, ruleFile };
  }

  it('routes by an edited rule file once it settles, and keeps the last good rules when a file is invalid', async () => {
    const { port, config, ruleFile } = await writeConfig();
    const token = 'live-reload-admin-token';
    const herald = await serveHerald(['--config', config], port, { HERALD_ADMIN_TOKEN: token });
    const source = testSource('facesign', 'facesign');
    /** Sends one event and returns the name of the rule that delivered it. */
    const routedBy = async (): Promise<string> => {
      const before = sink.requests.length;
      const { body, headers } = signedRequest(source, PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()));
      const response = await fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
      assert.equal(response.status, 200);
      await sink.waitFor(before + 1, 5000);
      return (JSON.parse(sink.requests[before]!.body) as { data: { rule: string } }).data.rule;
    };

    /** Config reloads so far with this result, from /metrics. */
    const reloads = async (result: 'applied' | 'rejected'): Promise<number> => {
      const text = await (await fetch(`${herald.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`herald_config_reloads_total{result="${result}"}`));
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    /** Writes the rule file and waits until herald has reloaded it with `result` (a bound for a busy machine, not a target). */
    const edit = async (text: string, result: 'applied' | 'rejected'): Promise<void> => {
      const before = await reloads(result);
      writeFileSync(ruleFile, text);
      await waitUntil(async () => (await reloads(result)) > before, 10_000, `a reload ${result}`);
    };

    try {
      assert.equal(await routedBy(), 'first');

      await edit(rule('second'), 'applied');
      assert.equal(await routedBy(), 'second');

      await edit(`${rule('third')}  when: { regex: [1, 2] }\n`, 'rejected');
      assert.equal(await routedBy(), 'second', 'an invalid rule file must not replace the running rules');
      assert.deepEqual(await (await fetch(`${herald.url}/readyz`)).json(), { status: 'ready' }, 'no file path for anonymous callers');
      const health = (await (await fetch(`${herald.url}/api/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        configReload: { rejected: { errors: string[] } } | null;
      };
      assert.match(health.configReload?.rejected.errors.join('\n') ?? '', /r\.yaml:\d+:\d+ \[0\]\.when\.regex: unknown JSON-logic operator "regex"/);
      const metrics = await (await fetch(`${herald.url}/metrics`)).text();
      assert.match(metrics, /^herald_config_last_reload_ok 0$/m);
      assert.match(metrics, /^herald_config_reloads_total\{result="rejected"\} [1-9]/m);

      await edit(rule('fourth'), 'applied');
      assert.equal(await routedBy(), 'fourth');
      assert.deepEqual(await (await fetch(`${herald.url}/readyz`)).json(), { status: 'ready' });
    } finally {
      herald.child.kill('SIGTERM');
      await herald.exited;
    }
  });

  it('keeps running on the last good rules when an alias bomb or a folder named like a rule file appears', async () => {
    const { port, config } = await writeConfig();
    const token = 'live-reload-hostile-files-token';
    const herald = await serveHerald(['--config', config], port, { HERALD_ADMIN_TOKEN: token });
    const rejected = async (file: string) => {
      if (herald.child.exitCode !== null) throw new Error(`herald exited with ${herald.child.exitCode}: ${herald.stderr()}`);
      const health = (await (await fetch(`${herald.url}/api/health`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        configReload: { rejected: { errors: string[] } } | null;
      };
      return health.configReload?.rejected.errors.some((e) => e.includes(file)) ?? false;
    };
    try {
      writeFileSync(path.join(dir, 'rules', 'bomb.yaml'), yamlAliasBomb());
      await waitUntil(() => rejected('bomb.yaml'), 10_000, 'the reload with the alias bomb to be rejected');
      mkdirSync(path.join(dir, 'rules', 'x.yaml'));
      await waitUntil(() => rejected('x.yaml'), 10_000, 'the reload with the folder to be rejected');
      assert.equal(herald.child.exitCode, null, `herald exited: ${herald.stderr()}`);
      const metrics = await (await fetch(`${herald.url}/metrics`)).text();
      assert.match(metrics, /^herald_config_reloads_total\{result="rejected"\} [2-9]/m);

      const { body, headers } = signedRequest(
        testSource('facesign', 'facesign'),
        PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()),
      );
      assert.equal((await fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) })).status, 200);
      await sink.waitFor(1, 5000);
      assert.equal((JSON.parse(sink.requests[0]!.body) as { data: { rule: string } }).data.rule, 'first');
    } finally {
      herald.child.kill('SIGTERM');
      await herald.exited;
    }
  });
});
