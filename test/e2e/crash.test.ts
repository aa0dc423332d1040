/**
 * An acknowledged event survives `kill -9`: herald under a steady stream of
 * signed requests is killed; every request that got a 2xx is in the store,
 * herald starts again on the same file and takes new events, and every
 * acknowledged event is delivered at least once.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { testSource } from '../helpers/config.js';
import { freePort, serveHerald } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { serveUntilDelivered, writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink } from '../helpers/sinks.js';

/** Senders, each with one request in flight at a time: up to this many requests are in flight at a kill. */
const CONCURRENCY = 16;
/** Each kill comes once this many more requests were acknowledged (and deliveries flow): the load is the concurrency, not the count. */
const ACKS_PER_KILL = 50;

describe('crash safety (SIGKILL under load)', function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged event and delivers it at least once across three SIGKILLs under load, with few duplicates', async () => {
    const sink = await startHttpSink(() => ({ status: 200, delayMs: 20 }));
    const port = await freePort();
    const config = writeHookConfig(dir, port, sink.url);
    const source = testSource('facesign', 'facesign');
    const sample = loadSample('facesign', 'session.status');
    const acknowledged: string[] = [];
    let posted = 0;
    const CONCURRENCY_PER_DESTINATION = 16;
    try {
      for (let kill = 0; kill < 3; kill++) {
        const herald = await serveHerald(['--config', config], port);
        const target = acknowledged.length + ACKS_PER_KILL;
        let killed = false;
        const sender = async () => {
          while (!killed) {
            const payload = PROVIDERS.facesign.freshenSample(sample, Date.now());
            const { body, headers } = signedRequest(source, payload);
            posted++;
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
        await Promise.all(Array.from({ length: CONCURRENCY }, sender));
        assert.equal((await herald.exited).signal, 'SIGKILL');
        // Right after the kill, before anything starts again: every acknowledged event is in the store.
        const store = new SqliteStore(path.join(dir, 'herald.db'));
        try {
          const stored = new Set((await store.listEvents({ limit: 1_000_000 })).map((e) => e.providerEventId));
          const lost = acknowledged.filter((id) => !stored.has(id));
          assert.deepEqual(lost, [], `kill ${kill + 1}: ${lost.length} of ${acknowledged.length} acknowledged events were lost (${posted} sent)`);
        } finally {
          await store.close();
        }
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
