/**
 * The composition root: the only place that knows every concrete class. It
 * builds the store, the pipeline and the HTTP server from a loaded config.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeraldConfig } from './core/config.js';
import type { Logger } from './core/log.js';
import { createApp } from './http/app.js';
import { Ingest } from './pipeline/ingest.js';
import { PROVIDERS } from './providers/registry.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

/** Opens the store a config names. */
export function openStore(url: string): Store {
  if (url.startsWith('sqlite:')) return new SqliteStore(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new Error('the PostgreSQL store is not available in this version: use store: sqlite:<path>');
  }
  throw new Error(`unsupported store "${url.split(':')[0]}": use sqlite:<path>`);
}

export interface RunningHerald {
  server: Server;
  store: Store;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** Stops accepting requests, lets the ones in flight finish, closes the store. */
  close(): Promise<void>;
}

export async function startHerald(config: HeraldConfig, log: Logger): Promise<RunningHerald> {
  const store = openStore(config.store);
  await store.migrate();
  const ingest = new Ingest({ sources: config.sources, providers: PROVIDERS, store });
  const app = createApp({ ingest, store, bodyLimitBytes: config.server.bodyLimitBytes, log });

  const server = createServer(app.callback());
  // Headers must arrive within 10 s and a whole request within 30 s: a client
  // that trickles its body is cut off instead of holding a socket.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    server,
    store,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await store.close();
    },
  };
}
