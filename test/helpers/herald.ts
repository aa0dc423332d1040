/** Starts herald in-process on a random port with a fresh SQLite file, and signs requests for it. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HeraldConfig, SourceConfig } from '../../src/core/config.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import { startHerald, type RunningHerald, type StartOptions } from '../../src/app/start-herald.js';
import { loadRouting } from '../../src/app/setup.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import type { Delivery, Store } from '../../src/store/store.js';
import { testConfig } from './config.js';
import { waitUntil } from './sinks.js';

export interface TestHerald extends RunningHerald {
  url: string;
  config: HeraldConfig;
  /** Posts a body to /webhooks/<source> with the given headers. */
  post(source: string, body: Buffer | string, headers?: Record<string, string>): Promise<{ status: number; body: string }>;
  /** Posts a payload signed for the source, as its provider would. */
  postSigned(source: SourceConfig, payload: unknown, nowMs?: number): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'herald-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function signedRequest(source: SourceConfig, payload: unknown, nowMs = Date.now()) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const headers = { 'content-type': 'application/json', ...PROVIDERS[source.provider].sign(body, source, nowMs) };
  return { body, headers };
}

export async function startTestHerald(overrides: Partial<HeraldConfig> = {}, options: StartOptions = {}, log: Logger = silentLogger()): Promise<TestHerald> {
  const dir = tempDir();
  const config = testConfig(`sqlite:${path.join(dir, 'herald.db')}`, overrides);
  const herald = await startHerald(loadRouting(config), log, options);
  const url = `http://127.0.0.1:${herald.port}`;

  const post: TestHerald['post'] = async (source, body, headers = { 'content-type': 'application/json' }) => {
    const response = await fetch(`${url}/webhooks/${source}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
    return { status: response.status, body: await response.text() };
  };
  return {
    ...herald,
    url,
    config,
    post,
    postSigned: (source, payload, nowMs) => {
      const request = signedRequest(source, payload, nowMs);
      return post(source.name, request.body, request.headers);
    },
    async stop() {
      await herald.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * How often a destination's circuit breaker opened and closed, as herald's
 * /metrics counts it (`herald_breaker_transitions_total`).
 */
export async function breakerTransitions(herald: TestHerald, destination: string): Promise<{ opened: number; closed: number }> {
  const text = await (await fetch(`${herald.url}/metrics`)).text();
  const count = (state: string): number => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith('herald_breaker_transitions_total{') && l.includes(`destination="${destination}"`) && l.includes(`state="${state}"`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return { opened: count('open'), closed: count('closed') };
}

/** Waits until at least `count` deliveries (those `filter` keeps) exist and none of them is pending; returns them. */
export async function settledDeliveries(
  store: Store,
  count: number,
  filter: (delivery: Delivery) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<Delivery[]> {
  let deliveries: Delivery[] = [];
  await waitUntil(
    async () => {
      deliveries = (await store.listDeliveries({ limit: 10_000 })).filter(filter);
      return deliveries.length >= count && deliveries.every((d) => d.status !== 'pending');
    },
    timeoutMs,
    `${count} settled deliveries`,
  );
  return deliveries;
}
