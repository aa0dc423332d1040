/**
 * The admin API under /api/: events with their deliveries and attempts, dead
 * letters, retry, replay, destinations (their public signing keys) and
 * pausing them. JSON in and out, behind
 * `Authorization: Bearer $HERALD_ADMIN_TOKEN`; without a token it is not
 * mounted at all (404). The routes are documented in schema/openapi.json,
 * which test/http/admin-api.test.ts checks against this router.
 */
import Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.js';
import { UnknownRuleError } from '../core/errors.js';
import { SealedDataError } from '../core/sealing.js';
import { destinationView } from '../channels/destination-view.js';
import {
  destinationHealth,
  loadedRules,
  readEventDetail,
  replayOneEvent,
  replayRange,
  retryDeadLetters,
  retryDeliveries,
  retryDelivery,
  setPaused,
  testRules,
  type Operator,
  type OperatorDeps,
} from '../pipeline/operator/operator-actions.js';
import { eraseSubject } from '../pipeline/operator/erase-subject.js';
import { maskPersonalFields } from '../pipeline/operator/personal-data.js';
import type { ReadinessReport } from '../pipeline/mechanisms/readiness.js';
import type { MediaFiles } from '../store/media-files.js';
import { pageOf, type AuditFilter, type DeliveryFilter } from '../store/store.js';
import { requireBearer } from './admin-auth.js';
import {
  AdminInputError,
  bodyLimit,
  bodyPii,
  bodyString,
  bodyStrings,
  eventFilterFromQuery,
  eventToTest,
  jsonBody,
  queryDryRun,
  queryLimit,
  queryOrder,
  queryPii,
  queryString,
  timeValue,
} from './admin-query.js';

export const OPENAPI_FILE = path.join(PACKAGE_ROOT, 'schema/openapi.json');

export type { DeliveryControl } from '../pipeline/operator/operator-actions.js';

/** What GET /api/health reports: readiness with its reasons, and the last rejected config reload. */
export type HealthReport = ReadinessReport & { shuttingDown: boolean; configReload: { rejected: { at: string; errors: string[] } } | null };

export interface AdminDeps extends OperatorDeps {
  token: string;
  health: () => Promise<HealthReport>;
  /** Where archived media's bytes are kept (erasure deletes a subject's); none without a media archive. */
  mediaFiles?: MediaFiles;
}

const notFound = (what: string) => ({ error: `${what} not found` });

/** The header a client names its user in, for the audit log: one admin token cannot tell people apart. */
export const ACTOR_HEADER = 'x-herald-actor';

/** Who calls, for the audit log: the name the client gives (one token cannot tell people apart) and its address. */
function apiOperator(ctx: Context): Operator {
  return { actor: ctx.get(ACTOR_HEADER), via: 'api', remoteAddress: ctx.ip };
}

/** The routes, without authentication (exported for the OpenAPI check). */
export function createAdminRouter(deps: Omit<AdminDeps, 'token'>): Router {
  const { store, routing, providers, health, mediaFiles } = deps;
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
    const page = await pageOf((f) => store.listEvents(f), { ...eventFilterFromQuery(ctx), after: queryString(ctx, 'after'), limit: queryLimit(ctx) });
    // Personal fields are shown one audited event at a time (GET /api/events/{id}?pii=include), never in a listing.
    ctx.body = { events: page.items.map((event) => maskPersonalFields(event, providers)), nextCursor: page.nextCursor };
  });

  router.get('/events/:id', async (ctx) => {
    // Audited before anything is shown: a reading the log cannot record is refused (500).
    const detail = await readEventDetail(deps, apiOperator(ctx), ctx.params.id!, queryPii(ctx));
    if (!detail) {
      ctx.status = 404;
      ctx.body = notFound('event');
      return;
    }
    ctx.body = detail;
  });

  // Erasure for a data-protection request: everything about one subject, audited (README, "Erasure").
  router.delete('/subjects/:id', async (ctx) => {
    const dryRun = queryDryRun(ctx);
    ctx.body = await eraseSubject(store, ctx.params.id!, { dryRun, actor: ctx.get(ACTOR_HEADER), detail: { via: 'api', remoteAddress: ctx.ip }, mediaFiles });
  });

  router.get('/audit', async (ctx) => {
    const filter: AuditFilter = {
      actor: queryString(ctx, 'actor'),
      action: queryString(ctx, 'action'),
      target: queryString(ctx, 'target'),
      after: queryString(ctx, 'after'),
      limit: queryLimit(ctx),
      order: queryOrder(ctx),
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
    const dryRun = body.dryRun === true;
    const preview = body.preview === true;
    if (preview && !dryRun) throw new AdminInputError('"preview" is for a dry run: send "dryRun": true with it');
    const request = {
      since,
      until: timeValue('until', body.until),
      rules: bodyStrings(body, 'rules'),
      rule: bodyString(body, 'rule'),
      dryRun,
      ...(preview && { preview, pii: bodyPii(body) }),
      refreshSession: body.refreshSession === true,
      after: bodyString(body, 'after'),
      limit: bodyLimit(body, 500),
    };
    try {
      ctx.body = await replayRange(deps, apiOperator(ctx), request);
    } catch (error) {
      if (error instanceof UnknownRuleError) throw new AdminInputError(error.message);
      throw error;
    }
  });

  router.post('/events/:id/replay', async (ctx) => {
    const body = await jsonBody(ctx);
    const dryRun = body.dryRun === true;
    const refreshSession = body.refreshSession === true;
    const replayed = await replayOneEvent(deps, apiOperator(ctx), ctx.params.id!, {
      dryRun,
      rules: bodyStrings(body, 'rules'),
      rule: bodyString(body, 'rule'),
      refreshSession,
    }).catch((error: unknown) => {
      throw error instanceof UnknownRuleError ? new AdminInputError(error.message) : error;
    });
    if (!replayed) {
      ctx.status = 404;
      ctx.body = notFound('event');
      return;
    }
    if (replayed.notRouted) {
      ctx.status = 409;
      ctx.body = { error: 'the event is not routed yet: routing will send it with the rules in force; replay it once it is routed' };
      return;
    }
    // A batch entry says which batch the event joins; its key is read from the event as the rule's templates see it.
    const batched = replayed.batched.map(({ rule, destination, template, keyLabel }) => ({ rule, destination, template, key: keyLabel }));
    ctx.body = { dryRun, deliveries: replayed.deliveries, batched, ...(replayed.sessionRefresh && { sessionRefresh: replayed.sessionRefresh }) };
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

  // Either the dead letters matching a filter, or a selection of deliveries by id (the console's bulk retry).
  router.post('/dead-letters/retry', async (ctx) => {
    const body = await jsonBody(ctx);
    const reason = bodyString(body, 'reason');
    const ids = bodyStrings(body, 'ids');
    if (ids !== undefined) {
      if (ids.length > 1000) throw new AdminInputError('"ids" lists at most 1000 deliveries');
      const results = await retryDeliveries(deps, apiOperator(ctx), ids, reason);
      ctx.body = {
        retried: results.filter((r) => r.status === 'retried').length,
        results: results.map((r) => ({ id: r.id, status: r.status, ...(r.status === 'refused' && { reason: r.reason }) })),
      };
      return;
    }
    const since = timeValue('since', body.since);
    const retried = await retryDeadLetters(
      deps,
      apiOperator(ctx),
      {
        destination: bodyString(body, 'destination'),
        rule: bodyString(body, 'rule'),
        sinceMs: since === undefined ? undefined : Date.parse(since),
      },
      reason,
    );
    ctx.body = { retried };
  });

  router.post('/deliveries/:id/retry', async (ctx) => {
    const body = await jsonBody(ctx);
    const retry = await retryDelivery(deps, apiOperator(ctx), ctx.params.id!, bodyString(body, 'reason'));
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
    ctx.body = { delivery: retry.delivery };
  });

  /** Every destination's health: pause, breaker, queue depth, recent dead letters, delivery rate. */
  router.get('/destinations', async (ctx) => {
    ctx.body = { destinations: await destinationHealth(deps) };
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

  /** The rules in force, in the order they are evaluated. */
  router.get('/rules', (ctx) => {
    ctx.body = { rules: loadedRules(deps) };
  });

  // `herald rules test` on the running herald (the console's Rules page): sends and stores nothing.
  router.post('/rules/test', async (ctx) => {
    const body = await jsonBody(ctx);
    const eventId = bodyString(body, 'eventId');
    if ((eventId === undefined) === (body.event === undefined))
      throw new AdminInputError('give either "eventId" (a stored event) or "event" (a normalized event)');
    const pii = bodyPii(body);
    const result = await testRules(deps, apiOperator(ctx), eventId !== undefined ? { eventId, pii } : { event: eventToTest(body.event) });
    if (result === undefined) {
      ctx.status = 404;
      ctx.body = notFound('event');
      return;
    }
    if (typeof result === 'string') throw new AdminInputError(result);
    ctx.body = result;
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/destinations/:name/${action}`, async (ctx) => {
      const state = await setPaused(deps, apiOperator(ctx), ctx.params.name!, action === 'pause');
      if (!state) {
        ctx.status = 404;
        ctx.body = notFound('destination');
        return;
      }
      ctx.body = state;
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
        } else if (error instanceof SealedDataError) {
          // A row sealed under a key this herald lacks: say which key, never crash or hide it.
          ctx.status = 500;
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
