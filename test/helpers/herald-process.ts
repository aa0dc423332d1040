/**
 * A herald config for tests that run `herald serve` as a separate process: a
 * FaceSign source, the one-webhook rule, and a webhook destination to a sink.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { serveHerald } from './cli.js';
import { SHIPPED_TEMPLATES_DIR, TEST_SECRETS } from './config.js';
import { waitUntil, type HttpSink } from './sinks.js';

export const HOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** Writes herald.config.yaml into `dir` and returns its path. */
export function writeHookConfig(dir: string, port: number, sinkUrl: string, extra = ''): string {
  const file = path.join(dir, 'herald.config.yaml');
  writeFileSync(
    file,
    [
      `server: { port: ${port}, host: 127.0.0.1, shutdownGrace: 10s }`,
      'store: sqlite:./herald.db',
      `rules: ${JSON.stringify(path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'))}`,
      `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
      'sources:',
      `  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }`,
      'destinations:',
      `  hook: { type: webhook, url: "${sinkUrl}/hook", secret: "${HOOK_SECRET}", allowPrivateNetwork: true, concurrency: 16, delivery: { retry: [200ms, 500ms, 1s, 2s] } }`,
      extra,
    ].join('\n'),
  );
  return file;
}

/** The FaceSign event id a delivered webhook (default body: the whole event) is about. */
export function deliveredEventId(body: string): string {
  return (JSON.parse(body) as { data: { providerEventId: string } }).data.providerEventId;
}

/** Runs `herald serve` until the sink has received a delivery of every one of `eventIds`, then stops it. */
export async function serveUntilDelivered(config: string, port: number, sink: HttpSink, eventIds: string[]): Promise<void> {
  const herald = await serveHerald(['--config', config], port);
  try {
    await waitUntil(
      () => {
        const delivered = new Set(sink.requests.map((r) => deliveredEventId(r.body)));
        return eventIds.every((id) => delivered.has(id));
      },
      30_000,
      'every acknowledged event to be delivered',
    );
  } finally {
    herald.child.kill('SIGTERM');
    await herald.exited;
  }
}
