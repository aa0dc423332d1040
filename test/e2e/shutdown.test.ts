/**
 * SIGTERM during load: herald stops accepting, finishes the requests and the
 * delivery attempts in flight, and exits within the grace period; no request
 * in flight is reset, and nothing is lost (the rest is delivered after a restart).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSource } from '../helpers/config.js';
import { freePort, serveHerald } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { serveUntilDelivered, writeHookConfig } from '../helpers/herald-process.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

const SENDERS = 8;

/** One request on its own connection, its body sent in two halves 150 ms apart: it is in flight for a while. */
function slowPost(port: number, body: Buffer, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/webhooks/facesign', agent: false, headers: { ...headers, 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, body.length >> 1));
    setTimeout(() => req.end(body.subarray(body.length >> 1)), 150);
  });
}

describe('graceful shutdown (SIGTERM under load)', function () {
  this.timeout(60_000);
  let dir: string;
  let sink: HttpSink;

  beforeEach(async () => {
    dir = tempDir();
    // The receiver takes 300 ms to answer: deliveries are in flight when the signal comes.
    sink = await startHttpSink(() => ({ status: 200, delayMs: 300 }));
  });
  afterEach(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes what is in flight, exits 0 within the grace period, and loses nothing', async () => {
    const port = await freePort();
    const config = writeHookConfig(dir, port, sink.url);
    const herald = await serveHerald(['--config', config], port);
    const source = testSource('facesign', 'facesign');
    const sample = loadSample('facesign', 'session.status');

    const acknowledged: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const payload = PROVIDERS.facesign.freshenSample(sample, Date.now());
        const { body, headers } = signedRequest(source, payload);
        try {
          const status = await slowPost(port, body, headers);
          if (status === 200) acknowledged.push(String(payload.id));
          else failures.push(`status ${status}`);
        } catch (error) {
          failures.push((error as NodeJS.ErrnoException).code ?? String(error));
        }
      }
    };
    const senders = Array.from({ length: SENDERS }, sender);
    await new Promise((r) => setTimeout(r, 1500));
    // Every sender is in the middle of a request now: stop starting new ones, and signal.
    stop = true;
    const signalledAt = Date.now();
    herald.child.kill('SIGTERM');
    await Promise.all(senders);
    const exit = await herald.exited;
    const tookMs = Date.now() - signalledAt;

    assert.deepEqual(failures, [], 'requests in flight at the signal must complete');
    assert.equal(exit.code, 0, herald.stderr());
    assert.ok(tookMs < 10_000, `took ${tookMs} ms to exit`);
    assert.ok(acknowledged.length >= SENDERS * 3, `only ${acknowledged.length} requests acknowledged`);

    // Restarted, herald delivers whatever was still queued: every acknowledged event arrives.
    await serveUntilDelivered(config, port, sink, acknowledged);
  });
});
