/**
 * An acknowledged event survives `kill -9`: herald under a steady stream of
 * signed requests is killed; every request that got a 2xx is in the store.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { NO_RULES_DIR, SHIPPED_TEMPLATES_DIR, TEST_SECRETS, testSource } from '../helpers/config.js';
import { freePort, serveHerald } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { serveUntilDelivered, writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink } from '../helpers/sinks.js';

const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 400;

describe('crash safety (SIGKILL under load)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every event that was acknowledged before the kill', async () => {
    const port = await freePort();
    const configFile = path.join(dir, 'herald.config.yaml');
    writeFileSync(
      configFile,
      `server: { port: ${port}, host: 127.0.0.1 }\nstore: sqlite:./herald.db\n` +
        `rules: ${JSON.stringify(NO_RULES_DIR)}\ntemplates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}\n` +
        `sources:\n  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }\n`,
    );
    const herald = await serveHerald(['--config', configFile], port);
    const source = testSource('facesign', 'facesign');
    const sample = loadSample('facesign', 'session.status');

    const acknowledged: string[] = [];
    let sent = 0;
    let killed = false;
    const sender = async () => {
      while (!killed) {
        const payload = PROVIDERS.facesign.freshenSample(sample, Date.now());
        const { body, headers } = signedRequest(source, payload);
        sent++;
        try {
          const response = await fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
          await response.arrayBuffer();
          if (response.status === 200) acknowledged.push(String(payload.id));
          if (acknowledged.length >= KILL_AFTER_ACKS && !killed) {
            killed = true;
            herald.child.kill('SIGKILL');
          }
        } catch {
          // Connection reset by the kill: this request was never acknowledged.
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, sender));
    assert.equal((await herald.exited).signal, 'SIGKILL');

    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      const stored = new Set((await store.listEvents({ limit: 1_000_000 })).map((e) => e.providerEventId));
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.length} acknowledged events were lost (${sent} sent)`);
      assert.ok(stored.size >= acknowledged.length);
    } finally {
      await store.close();
    }

    // herald starts again on the same file and takes new events.
    const restarted = await serveHerald(['--config', configFile], port);
    try {
      const { body, headers } = signedRequest(source, PROVIDERS.facesign.freshenSample(sample, Date.now()));
      const response = await fetch(`${restarted.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
      assert.equal(response.status, 200);
    } finally {
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    }
  });

  it('delivers every acknowledged event at least once across three SIGKILLs under load, with few duplicates', async () => {
    const sink = await startHttpSink(() => ({ status: 200, delayMs: 20 }));
    const port = await freePort();
    const config = writeHookConfig(dir, port, sink.url);
    const source = testSource('facesign', 'facesign');
    const sample = loadSample('facesign', 'session.status');
    const acknowledged: string[] = [];
    const CONCURRENCY_PER_DESTINATION = 16;
    try {
      for (let kill = 0; kill < 3; kill++) {
        const herald = await serveHerald(['--config', config], port);
        const target = acknowledged.length + 150;
        let killed = false;
        const sender = async () => {
          while (!killed) {
            const payload = PROVIDERS.facesign.freshenSample(sample, Date.now());
            const { body, headers } = signedRequest(source, payload);
            try {
              const response = await fetch(`${herald.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) });
              await response.arrayBuffer();
              if (response.status === 200) acknowledged.push(String(payload.id));
            } catch {
              // reset by the kill: never acknowledged
            }
            // Kill once enough is acknowledged and deliveries are flowing.
            if (acknowledged.length >= target && sink.requests.length > 0 && !killed) {
              killed = true;
              herald.child.kill('SIGKILL');
            }
          }
        };
        await Promise.all(Array.from({ length: 8 }, sender));
        assert.equal((await herald.exited).signal, 'SIGKILL');
      }
      await serveUntilDelivered(config, port, sink, acknowledged);
      // A delivery sent twice was in flight at a kill: at most a destination's concurrency per kill.
      const sent = sink.requests.map((r) => String(r.headers['webhook-id']));
      const duplicates = sent.length - new Set(sent).size;
      assert.ok(duplicates <= 3 * CONCURRENCY_PER_DESTINATION, `${duplicates} deliveries were sent twice`);
    } finally {
      await sink.close();
    }
  });
});
