/**
 * A webhook receiver down for 1.5 s (connection refused) and then back: every
 * delivery arrives after it returns; while it was down the breaker opened and
 * the attempts made stayed bounded by the probe schedule, not by the number of
 * deliveries. Real time with short intervals; the same path over a minute of
 * downtime, to the millisecond, runs on a fake clock in
 * test/pipeline/stages/deliver.test.ts.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample } from '../../src/providers/samples.js';
import { testSources } from '../helpers/config.js';
import { freePort } from '../helpers/cli.js';
import { breakerTransitions, settledDeliveries, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const EVENTS = 30;
const DOWN_MS = 1_500;

describe('circuit breaker: a receiver down for 1.5 s', function () {
  this.timeout(60_000);
  let herald: TestHerald;
  let sink: HttpSink | undefined;

  after(async () => {
    await herald?.stop();
    await sink?.close();
  });

  it('pauses the destination, probes it, and delivers everything once it is back', async () => {
    const port = await freePort(); // nothing listens: connection refused
    herald = await startTestHerald({
      rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
      destinations: {
        hook: {
          name: 'hook',
          type: 'webhook',
          options: {
            url: `http://127.0.0.1:${port}/hook`,
            secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            allowPrivateNetwork: true,
            concurrency: 4,
            delivery: { retry: Array(10).fill('50ms'), maxAge: '1h' },
            breaker: { failures: 5, probe: ['100ms', '200ms', '400ms', '500ms'] },
          },
        },
      },
    });
    const source = testSources().facesign;
    for (let i = 0; i < EVENTS; i++) {
      const reply = await herald.postSigned(source, { ...PROVIDERS.facesign.freshenSample(loadSample('facesign', 'session.status'), Date.now()) });
      assert.equal(reply.status, 200);
    }
    await new Promise((r) => setTimeout(r, DOWN_MS));
    const attemptsWhileDown = await countAttempts(herald);
    assert.ok((await breakerTransitions(herald, 'hook')).opened >= 1, 'the breaker never opened');
    // Without the breaker: 30 deliveries x 10 retries 50 ms apart = 330 attempts in the first second.
    // With it: the first failures (at most failures + concurrency), then a probe at about 0.1, 0.3,
    // 0.7, 1.2 s (more when the sending of the events took a while).
    assert.ok(attemptsWhileDown <= 25, `${attemptsWhileDown} attempts while the receiver was down`);

    sink = await startHttpSink(() => ({ status: 200 }), port);
    await waitUntil(() => new Set(sink!.requests.map((r) => r.headers['webhook-id'])).size >= EVENTS, 30_000, 'every delivery');
    // The sink has them all; herald records each success just after its reply arrives.
    await settledDeliveries(herald.store, EVENTS, (d) => d.status === 'delivered', 10_000);
    assert.equal(herald.deliver.breakerStates().hook, 'closed');
  });
});

async function countAttempts(herald: TestHerald): Promise<number> {
  let total = 0;
  for (const d of await herald.store.listDeliveries({ limit: 1000 })) total += (await herald.store.listAttempts(d.id)).length;
  return total;
}
