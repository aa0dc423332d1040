/**
 * When the event cannot be stored, ingest answers 503 (the provider retries),
 * never 2xx; herald recovers by itself when the store comes back, and the
 * events stored after that are routed and delivered.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSources } from '../helpers/config.js';
import { freePort, killAll, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { signedRequest, startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

const source = testSources().facesign;
const ADMIN_TOKEN = 'store-failure-admin-token';
const event = () => PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now());

describe('store failure', function () {
  this.timeout(60_000);
  let herald: TestHerald | undefined;
  let sink: HttpSink;

  beforeEach(async () => {
    sink = await startHttpSink(() => ({ status: 200 }));
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await sink.close();
  });

  const hook = () => ({
    rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
    destinations: {
      hook: {
        name: 'hook',
        type: 'webhook' as const,
        options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
      },
    },
  });

  it('answers 503 while the database is locked by another process, then stores and delivers again', async () => {
    // A write waits 100 ms for the other process's lock, not herald's 1 s, before it fails.
    herald = await startTestHerald(hook(), { sqliteBusyTimeoutMs: 100 });
    assert.equal((await herald.postSigned(source, event())).status, 200);
    const other = new Database(herald.config.store.slice('sqlite:'.length));
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      const replies = await Promise.all([1, 2, 3].map(() => herald!.postSigned(source, event())));
      assert.deepEqual(
        replies.map((r) => r.status),
        [503, 503, 503],
      );
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    assert.equal((await herald.postSigned(source, event())).status, 200);
    await sink.waitFor(2, 15_000);
    assert.equal(await herald.store.countEvents(), 2);
  });

  it('answers 503 when the disk is full, then recovers when space is freed', async () => {
    // A real full disk: a 4 MB tmpfs, mounted in a user and mount namespace of herald's own (unshare), which any
    // user may make, root or not; it disappears with the process. The test reaches the mount through
    // /proc/<pid>/root, to fill it and to free it.
    const dir = tempDir();
    const mount = path.join(dir, 'small-disk');
    mkdirSync(mount);
    const port = await freePort();
    const config = writeHookConfig(dir, port, sink.url);
    const inNamespace = [
      'unshare',
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      'mount -t tmpfs -o size=4m tmpfs "$1" && cp "$2" "$1/" && shift 2 && exec "$@"',
    ];
    let served: ServeProcess | undefined;
    try {
      served = await serveHerald(
        ['--config', path.join(mount, 'herald.config.yaml')],
        port,
        { HERALD_ADMIN_TOKEN: ADMIN_TOKEN },
        {
          prefix: [...inNamespace, 'sh', mount, config],
        },
      );
      const post = async (payload: unknown) => {
        const { body, headers } = signedRequest(source, payload);
        return (await fetch(`${served!.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) })).status;
      };
      const stored = async () => {
        const reply = await fetch(`${served!.url}/api/events?limit=1000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        return ((await reply.json()) as { events: unknown[] }).events.length;
      };
      assert.equal(await post(event()), 200);
      const filler = `/proc/${served.child.pid}/root${mount}/filler`;
      try {
        writeFileSync(filler, Buffer.alloc(8 * 1024 * 1024));
      } catch (error) {
        // ENOSPC: the disk is now full, as intended.
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      const whileFull = await Promise.all(Array.from({ length: 20 }, () => post({ ...event(), padding: 'x'.repeat(50_000) })));
      assert.ok(
        whileFull.every((status) => status === 503 || status === 200),
        `unexpected statuses ${whileFull}`,
      );
      assert.ok(
        whileFull.some((status) => status === 503),
        'no request was refused while the disk was full',
      );
      // Readiness writes too: a load balancer stops sending webhooks to a herald that cannot store them.
      // Every time, not once: a one-row write can still fit in the WAL's space after a checkpoint, full disk or not.
      for (let check = 0; check < 10; check++) {
        assert.equal((await fetch(`${served.url}/readyz`)).status, 503, `/readyz while the disk is full (check ${check + 1})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const health = (await (await fetch(`${served.url}/api/health`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
        store: { writable: boolean; error?: string };
      };
      assert.equal(health.store.writable, false);
      assert.match(health.store.error ?? '', /disk holding the store has \d+ KiB free/);
      const acknowledged = whileFull.filter((status) => status === 200).length;
      rmSync(filler);
      assert.equal((await fetch(`${served.url}/readyz`)).status, 200, '/readyz once space is freed');
      assert.equal(await post(event()), 200);
      // Every acknowledged event is stored: the refused ones were not.
      assert.equal(await stored(), 2 + acknowledged);
      await sink.waitFor(2 + acknowledged, 15_000);
    } finally {
      if (served) await killAll([served]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
