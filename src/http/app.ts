/**
 * The Koa applications: webhook receiver, health endpoints, metrics, the
 * admin API and the web console. One app serves everything, or (with
 * `server.admin`) one serves the webhooks and another, on the operations
 * listener, metrics, the API and the console; both answer the health endpoints.
 */
import Router from '@koa/router';
import Koa from 'koa';
import type { Logger } from 'pino';
import type { Ingest } from '../pipeline/stages/ingest.js';
import type { HeraldMetrics } from '../pipeline/mechanisms/metrics.js';
import type { Readiness } from '../pipeline/mechanisms/readiness.js';
import { adminApi, type AdminDeps } from './admin-api.js';
import { requireBearer } from './admin-auth.js';
import { consoleApp, type ConsoleDeps } from './console/console-app.js';
import { mediaRoute, type MediaRouteDeps } from './media.js';
import { REPLY_BODIES } from './replies.js';
import { webhookReceiver } from './webhook-receiver.js';

/** Shared with the process: shutdown, and the last rejected config reload. */
export interface Lifecycle {
  shuttingDown: boolean;
  reloadErrors?: { at: string; errors: string[] };
}

export interface AppDeps {
  ingest: Ingest;
  bodyLimitBytes: number;
  log: Logger;
  lifecycle: Lifecycle;
  metrics: HeraldMetrics;
  /** What /readyz checks: the store takes a write, and no stage is stalled. */
  readiness: Readiness;
  /** The admin API under /api/; absent (404) when no admin token is set. */
  admin?: AdminDeps;
  /** When set, /metrics needs it as a bearer token. */
  metricsToken?: string;
  /** server.trustProxy: ctx.ip and ctx.protocol come from the nearest proxy's X-Forwarded-For and X-Forwarded-Proto. */
  trustProxy?: boolean;
  /** The web console under /console/; off (404) while it has no users. */
  console?: ConsoleDeps;
  /** The media archive's files, served under /media/ on the webhook listener; absent (404) without an archive. */
  media?: MediaRouteDeps;
}

/** What one listener serves: the webhooks, the operations (/metrics, /api), or both. Health on every listener. */
export interface Surfaces {
  webhooks: boolean;
  operations: boolean;
}

export function createApp(
  { ingest, bodyLimitBytes, log, lifecycle, metrics, readiness, admin, metricsToken, trustProxy = false, console: consoleDeps, media }: AppDeps,
  surfaces: Surfaces = { webhooks: true, operations: true },
): Koa {
  // Behind a proxy, the address a client claims is the leftmost of X-Forwarded-For: only the last one, the one the
  // nearest proxy added, is known to be true (maxIpsCount 1).
  const app = new Koa({ proxy: trustProxy, maxIpsCount: 1 });
  const router = new Router();

  if (surfaces.webhooks) router.post('/webhooks/:source', webhookReceiver({ ingest, bodyLimitBytes, log, metrics }));
  // The links in messages point at server.publicUrl: the webhook listener, the public one.
  if (surfaces.webhooks && media) router.get('/media/:id', mediaRoute(media));

  /** Liveness: the process answers. */
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });

  /** Prometheus metrics, text format; behind `server.metricsToken` when one is set. */
  if (surfaces.operations) {
    const guard = metricsToken ? [requireBearer(metricsToken, 'herald metrics')] : [];
    router.get('/metrics', ...guard, async (ctx) => {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.text();
    });
  }

  /**
   * Readiness: the store takes a write, no stage is stalled, and the process
   * is not shutting down. The verdict only: the reasons (a store error may
   * name a file) are in the admin API's GET /api/health.
   */
  router.get('/readyz', async (ctx) => {
    if (lifecycle.shuttingDown) {
      ctx.status = 503;
      ctx.body = { status: 'shutting-down' };
      return;
    }
    const { ready } = await readiness.check();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'unavailable' };
  });

  app.use(async (ctx, next) => {
    // While shutting down, every reply closes its connection, so no client
    // sends another request on a socket that is about to go away.
    if (lifecycle.shuttingDown) ctx.set('Connection', 'close');
    try {
      await next();
    } catch (error) {
      log.error({ err: error instanceof Error ? error.message : String(error), path: ctx.path }, 'unhandled error');
      ctx.status = 500;
      ctx.body = REPLY_BODIES[500];
    }
    if (ctx.body === undefined && REPLY_BODIES[ctx.status]) {
      // Koa turns an implicit 404 into a 200 when a body is set: keep the status.
      const status = ctx.status;
      ctx.body = REPLY_BODIES[status];
      ctx.status = status;
    }
  });
  if (admin && surfaces.operations) app.use(adminApi(admin));
  if (consoleDeps && surfaces.operations) app.use(consoleApp(consoleDeps));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
