/** The Koa application: webhook receiver and health endpoints. */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Ingest } from '../pipeline/ingest.js';
import type { Store } from '../store/store.js';
import { REPLY_BODIES } from './replies.js';
import { webhookReceiver } from './webhook-receiver.js';

export interface AppDeps {
  ingest: Ingest;
  store: Store;
  bodyLimitBytes: number;
  log: Logger;
}

export function createApp({ ingest, store, bodyLimitBytes, log }: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();

  router.post('/webhooks/:source', webhookReceiver({ ingest, bodyLimitBytes, log }));

  /** Liveness: the process answers. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  /** Readiness: the store can be reached. */
  router.get('/readyz', async (ctx) => {
    try {
      await store.ping();
      ctx.body = { status: 'ready' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', store: 'unreachable' };
    }
  });

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      log.error({ err: error instanceof Error ? error.message : String(error), path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = REPLY_BODIES[500];
    }
    if (ctx.body === undefined && REPLY_BODIES[ctx.status]) ctx.body = REPLY_BODIES[ctx.status];
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
