/**
 * The admin API under /api/: events with their deliveries and attempts, dead
 * letters, retry, replay, destinations (their public signing keys) and
 * pausing them. JSON in and out, behind
 * `Authorization: Bearer $HERALD_ADMIN_TOKEN`; without a token it is not
 * mounted at all (404). The routes are documented in schema/openapi.json,
 * which test/http/admin-api.test.ts checks against this router.
 */
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ownValue } from '../core/own.js';
import { PACKAGE_ROOT } from '../core/paths.js';
import { UnknownRuleError } from '../core/errors.js';
import { destinationView } from '../channels/destination-view.js';
import type { ProviderProfile } from '../providers/provider.js';
import { eventDetail } from '../pipeline/operator/event-detail.js';
import { maskPersonalFields, recordPiiRead } from '../pipeline/operator/personal-data.js';
import { replayEvents, replayPage } from '../pipeline/operator/replay.js';
import { retryOneDelivery } from '../pipeline/operator/retry-delivery.js';
import type { ReadinessReport } from '../pipeline/mechanisms/readiness.js';
import type { RoutingSet } from '../pipeline/stages/route.js';
import { pageOf, type AuditFilter, type DeliveryFilter, type EventFilter, type Store } from '../store/store.js';
import { requireBearer } from './admin-auth.js';
import { AdminInputError, bodyLimit, bodyString, jsonBody, queryLimit, queryPii, queryString, timeValue } from './admin-query.js';

export const OPENAPI_FILE = path.join(PACKAGE_ROOT, 'schema/openapi.json');

/** What the API acts on: pausing, resuming and waking the deliver stage. */
export interface DeliveryControl {
  pause(destination: string): void;
  resume(destination: string): void;
  paused(): string[];
  wake(): void;
}

/** What GET /api/health reports: readiness with its reasons, and the last rejected config reload. */
export type HealthReport = ReadinessReport & { shuttingDown: boolean; configReload: { rejected: { at: string; errors: string[] } } | null };

export interface AdminDeps {
  token: string;
  health: () => Promise<HealthReport>;
  store: Store;
  deliver: DeliveryControl;
  /** The routing in force now (a config reload swaps it): replay goes through it. */
  routing: () => RoutingSet;
  providers: Record<string, ProviderProfile>;
}

const notFound = (what: string) => ({ error: `${what} not found` });

/** The header a client names its user in, for the audit log: one admin token cannot tell people apart. */
export const ACTOR_HEADER = 'x-herald-actor';

/** The routes, without authentication (exported for the OpenAPI check). */
export function createAdminRouter({ store, deliver, routing, providers, health }: Omit<AdminDeps, 'token'>): Router {
  const router = new Router({ prefix: '/api' });
  let openapi: string | undefined;

  router.get('/openapi.json', (ctx) => {
    openapi ??= readFileSync(OPENAPI_FILE, 'utf8');
    ctx.type = 'application/json';
    ctx.body = openapi;
  });

  /** Readiness with its reasons, which /readyz keeps from anonymous callers. */
  router.get('/health', async (ctx) => {
    ctx.body = await health();
  });

  router.get('/events', async (ctx) => {
    const filter: EventFilter = {
      source: queryString(ctx, 'source'),
      provider: queryString(ctx, 'provider'),
      type: queryString(ctx, 'type'),
      outcome: queryString(ctx, 'outcome'),
      subject: queryString(ctx, 'subject'),
      since: timeValue('since', queryString(ctx, 'since')),
      until: timeValue('until', queryString(ctx, 'until')),
      after: queryString(ctx, 'after'),
      limit: queryLimit(ctx),
    };
    const page = await pageOf((f: EventFilter) => store.listEvents(f), filter);
    // Personal fields are shown one audited event at a time (GET /api/events/{id}?pii=include), never in a listing.
    ctx.body = { events: page.items.map((event) => maskPersonalFields(event, providers)), nextCursor: page.nextCursor };
  });

  router.get('/events/:id', async (ctx) => {
    const pii = queryPii(ctx);
    const detail = await eventDetail(store, ctx.params.id!);
    if (!detail) {
      ctx.status = 404;
      ctx.body = notFound('event');
      return;
    }
    // Audited before anything is shown: a reading the log cannot record is refused (500).
    if (pii === 'include') await recordPiiRead(store, ctx.get(ACTOR_HEADER), detail.event.id, { via: 'api', remoteAddress: ctx.ip });
    ctx.body = pii === 'include' ? detail : { ...detail, event: maskPersonalFields(detail.event, providers) };
  });

  router.get('/audit', async (ctx) => {
    const filter: AuditFilter = {
      actor: queryString(ctx, 'actor'),
      action: queryString(ctx, 'action'),
      target: queryString(ctx, 'target'),
      after: queryString(ctx, 'after'),
      limit: queryLimit(ctx),
    };
    const page = await pageOf((f: AuditFilter) => store.listAudit(f), filter);
    ctx.body = { entries: page.items, nextCursor: page.nextCursor };
  });

  // Replays a time range a page at a time: one store read and one write per
  // page, where a route per event would cost a request and a write per event.
  router.post('/events/replay', async (ctx) => {
    const body = await jsonBody(ctx);
    const since = timeValue('since', body.since);
    if (since === undefined) throw new AdminInputError('"since" is required: replay the events received from then, e.g. 2026-01-31T12:00:00Z');
    const request = {
      since,
      until: timeValue('until', body.until),
      rule: bodyString(body, 'rule'),
      dryRun: body.dryRun === true,
      after: bodyString(body, 'after'),
      limit: bodyLimit(body, 500),
    };
    try {
      const page = await replayPage(store, routing(), providers, request);
      if (!page.dryRun && page.deliveries > 0) deliver.wake();
      ctx.body = page;
    } catch (error) {
      if (error instanceof UnknownRuleError) throw new AdminInputError(error.message);
      throw error;
    }
  });

  router.post('/events/:id/replay', async (ctx) => {
    const body = await jsonBody(ctx);
    const dryRun = body.dryRun === true;
    const rule = bodyString(body, 'rule');
    const event = await store.getEvent(ctx.params.id!);
    if (!event) {
      ctx.status = 404;
      ctx.body = notFound('event');
      return;
    }
    const [replayed] = await replayEvents(store, [event], routing(), providers, { dryRun, rule });
    if (!dryRun && replayed!.deliveries.length > 0) deliver.wake();
    ctx.body = { dryRun, deliveries: replayed!.deliveries };
  });

  router.get('/dead-letters', async (ctx) => {
    const filter: DeliveryFilter = {
      status: 'dead',
      destination: queryString(ctx, 'destination'),
      rule: queryString(ctx, 'rule'),
      after: queryString(ctx, 'after'),
      limit: queryLimit(ctx),
    };
    const page = await pageOf((f: DeliveryFilter) => store.listDeliveries(f), filter);
    ctx.body = { deadLetters: page.items, nextCursor: page.nextCursor };
  });

  router.post('/dead-letters/retry', async (ctx) => {
    const body = await jsonBody(ctx);
    const since = timeValue('since', body.since);
    const retried = await store.retryDeadLetters(
      {
        destination: bodyString(body, 'destination'),
        rule: bodyString(body, 'rule'),
        sinceMs: since === undefined ? undefined : Date.parse(since),
      },
      Date.now(),
    );
    if (retried > 0) deliver.wake();
    ctx.body = { retried };
  });

  router.post('/deliveries/:id/retry', async (ctx) => {
    const retry = await retryOneDelivery(store, ctx.params.id!, Date.now());
    if (retry.status === 'unknown') {
      ctx.status = 404;
      ctx.body = notFound('delivery');
      return;
    }
    if (retry.status === 'refused') {
      ctx.status = 409;
      ctx.body = { error: retry.reason };
      return;
    }
    deliver.wake();
    ctx.body = { delivery: retry.delivery };
  });

  // How a destination signs, with the public keys its receiver verifies with: never a secret.
  router.get('/destinations/:name', (ctx) => {
    const destinations = routing().destinations;
    const name = ctx.params.name!;
    if (!Object.hasOwn(destinations, name)) {
      ctx.status = 404;
      ctx.body = notFound('destination');
      return;
    }
    ctx.body = destinationView(destinations[name]!);
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/destinations/:name/${action}`, (ctx) => {
      const name = ctx.params.name!;
      if (!ownValue(routing().destinations, name)) {
        // `__proto__` is no destination
        ctx.status = 404;
        ctx.body = notFound('destination');
        return;
      }
      deliver[action](name);
      ctx.body = { destination: name, paused: deliver.paused().includes(name), pausedDestinations: deliver.paused() };
    });
  }
  return router;
}

/** The API as one middleware: token check, then the routes; bad input is a 400 that says what to send. */
export function adminApi(deps: AdminDeps): Middleware {
  const router = createAdminRouter(deps);
  // Mounted by hand (behind the token and the path check): the router adds params to the context itself.
  const routes = router.routes() as unknown as Middleware;
  const allowedMethods = router.allowedMethods() as unknown as Middleware;
  const authorized = requireBearer(deps.token);
  return (ctx, next) => {
    if (ctx.path !== '/api' && !ctx.path.startsWith('/api/')) return next();
    return authorized(ctx, async () => {
      try {
        await routes(ctx, () => allowedMethods(ctx, next));
      } catch (error) {
        if (error instanceof AdminInputError) {
          ctx.status = 400;
          ctx.body = { error: error.message };
        } else if ((error as { type?: string }).type === 'entity.too.large') {
          ctx.status = 413;
          ctx.body = { error: 'the body is larger than 64 kB' };
        } else {
          throw error;
        }
      }
    });
  };
}
