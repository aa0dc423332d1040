/**
 * The composition root: the only place that knows every concrete class. It
 * builds the store, the pipeline and the HTTP server from a loaded config.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createChannel } from './channels/channel.js';
import type { Logger } from './core/log.js';
import { createApp, type Lifecycle } from './http/app.js';
import { createHttpServer } from './http/server.js';
import { DeliverStage } from './pipeline/deliver.js';
import { deliveryPolicy } from './pipeline/delivery-policy.js';
import { Ingest } from './pipeline/ingest.js';
import { RouteStage } from './pipeline/route.js';
import { PROVIDERS } from './providers/registry.js';
import type { HeraldSetup } from './setup.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

/** Opens the store a config names. */
export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url);
  throw new Error(`unsupported store "${url.split(':')[0]}": use sqlite:<path> or postgres://...`);
}

export interface RunningHerald {
  server: Server;
  store: Store;
  route: RouteStage;
  deliver: DeliverStage;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting requests, lets the ones in flight finish, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Start the route and deliver stages (default true); off for ingest-only runs. */
  stages?: boolean;
  /** The receiver's clock (tests pin it to make receive times reproducible). */
  now?: () => number;
}

export async function startHerald(setup: HeraldSetup, log: Logger, options: StartOptions = {}): Promise<RunningHerald> {
  const { config } = setup;
  const store = openStore(config.store);
  await store.migrate();
  // Claims left by a previous run: void for a store one process owns, live for a shared one.
  await store.recoverClaimsAtStartup();

  const claimant = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const destinations = Object.values(config.destinations);
  const channels = Object.fromEntries(destinations.map((d) => [d.name, createChannel(d)]));
  const deliver = new DeliverStage({
    store,
    channels,
    policies: Object.fromEntries(destinations.map((d) => [d.name, deliveryPolicy(d, config.delivery)])),
    log,
    claimant,
  });
  const route = new RouteStage({ store, routing: () => setup.routing, providers: PROVIDERS, log, onRouted: () => deliver.wake() });
  const ingest = new Ingest({ sources: config.sources, providers: PROVIDERS, store, now: options.now, onStored: () => route.wake() });
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = createApp({ ingest, store, bodyLimitBytes: config.server.bodyLimitBytes, log, lifecycle });
  const server = createHttpServer(app, config.server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (options.stages !== false) {
    route.start();
    deliver.start();
  }

  return {
    server,
    store,
    route,
    deliver,
    port,
    async close() {
      lifecycle.shuttingDown = true;
      // Stop accepting connections; requests in flight finish (their events are stored).
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await route.stop();
      // Attempts in flight finish and are recorded; unclaimed work stays queued.
      await deliver.stop();
      // With the store gone, the claims simply expire and are taken over later.
      await store.releaseClaims(claimant).catch((error: unknown) =>
        log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not release claims at shutdown'),
      );
      await Promise.allSettled(Object.values(channels).map((channel) => channel.close()));
      await store.close();
    },
  };
}
