/** Starts herald in-process on a random port with a fresh SQLite file, and signs requests for it. */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { HeraldConfig, SourceConfig } from '../../src/core/config.js';
import { silentLogger, type Logger } from '../../src/core/log.js';
import { startHerald, type RunningHerald, type StartOptions } from '../../src/app/start-herald.js';
import { loadRouting } from '../../src/app/setup.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
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

/**
 * Where the SQLite files of test stores go: a file system in memory where there is one (Linux's
 * /dev/shm), else the temp folder. The store works the same on it; only its fsyncs cost nothing,
 * and a test herald makes a dozen of them between its start and its stop.
 */
const STORE_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

/** A fresh folder for a test store's files. */
export function storeDir(prefix = 'herald-test-'): string {
  return mkdtempSync(path.join(STORE_ROOT, prefix));
}

let migratedTemplate: Promise<string> | undefined;

/**
 * Creates `file` as a SQLite store with every migration applied: a copy of one migrated once per
 * process, which costs a millisecond where migrating costs tens. Opening it, herald finds nothing
 * to migrate, as on any restart.
 */
export async function createMigratedSqliteFile(file: string): Promise<void> {
  migratedTemplate ??= (async () => {
    const dir = storeDir('herald-template-');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const template = path.join(dir, 'herald.db');
    const store = new SqliteStore(template);
    await store.migrate();
    await store.close();
    return template;
  })();
  copyFileSync(await migratedTemplate, file);
}

export function signedRequest(source: SourceConfig, payload: unknown, nowMs = Date.now()) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const headers = { 'content-type': 'application/json', ...PROVIDERS[source.provider].sign(body, source, nowMs) };
  return { body, headers };
}

export async function startTestHerald(overrides: Partial<HeraldConfig> = {}, options: StartOptions = {}, log: Logger = silentLogger()): Promise<TestHerald> {
  const dir = storeDir();
  const config = testConfig(`sqlite:${path.join(dir, 'herald.db')}`, overrides);
  if (overrides.store === undefined) await createMigratedSqliteFile(path.join(dir, 'herald.db'));
  let herald: RunningHerald;
  try {
    herald = await startHerald(loadRouting(config), log, options);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
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
