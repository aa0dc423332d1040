/**
 * The web console under /console: server-rendered pages (views.ts) with htmx
 * for live updates and in-place actions, signed-in users with roles, and
 * every act through the operator actions the admin API uses
 * (pipeline/operator-actions.ts), so both are audited alike.
 *
 * Guards, in order: security headers on every reply (a strict
 * Content-Security-Policy: scripts and styles only from herald itself); the
 * assets; the sign-in pages; then a live session (else a redirect to sign-in);
 * on a POST, the session's CSRF token; then the page's role.
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import getRawBody from 'raw-body';
import type { ConsoleConfig, ConsoleRole, ConsoleUser } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import { hashPassword, verifyPassword } from '../../core/password-hash.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import {
  AUDIT_ACTIONS,
  destinationHealth,
  loadedRules,
  readEventDetail,
  recordAudit,
  replayRange,
  retryDeliveries,
  setPaused,
  testRules,
  type Operator,
  type RulesTestInput,
  type OperatorDeps,
} from '../../pipeline/operator/operator-actions.js';
import type { NormalizedEvent } from '../../core/event.js';
import { maskPersonalFields } from '../../pipeline/operator/personal-data.js';
import { REPLAY_PREVIEW_LIMIT } from '../../pipeline/operator/replay.js';
import { addReplayPage, emptyReplayTotals } from '../../pipeline/operator/replay-totals.js';
import { pageOf, type AuditFilter, type DeliveryFilter, type EventFilter } from '../../store/store.js';
import { AdminInputError, eventFilterFromQuery, eventToTest, queryPii, queryString, timeValue } from '../admin-query.js';
import { ReplayJobs } from './replay-jobs.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';
import { LoginThrottle, newToken, SESSION_MAX_MS, SessionBook, type ConsoleSession } from './sessions.js';
import {
  auditView,
  canReview,
  codeList,
  deadLettersView,
  destinationRow,
  destinationsView,
  eventRows,
  eventsView,
  eventView,
  loginView,
  replayProgress,
  replayView,
  type ReplayPlan,
  type ReplayQuery,
  rulesView,
  subjectView,
  type EventQuery,
} from './views.js';

export interface ConsoleDeps extends OperatorDeps {
  /** The console settings in force (a config reload may change the users). */
  settings: () => ConsoleConfig;
  log: Logger;
  /** The clock of sessions and the sign-in throttle (tests inject one). */
  sessionClock?: () => number;
  /** `server.publicUrl`: archived media are linked there (the webhook listener), so images may come from it. */
  publicUrl?: () => string | undefined;
}

const SESSION_COOKIE = 'herald_console';
const LOGIN_COOKIE = 'herald_console_login';
const PAGE_SIZE = 50;
/** A subject's timeline shows at most this many events (a session has a handful). */
const TIMELINE_EVENTS = 200;
/** A dry run looks at this many pages of 1,000 events at most before it answers. */
const DRY_RUN_PAGES = 20;
/** With refreshSession the dry run asks FaceSign for each session, paced by the source's rate: it looks at fewer events. */
const REFRESHING_DRY_RUN_EVENTS = 100;

/** Scripts, styles and images only from herald itself; no framing, no plugins, forms only to herald. */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const require = createRequire(import.meta.url);

/** The files under /console/assets/, read once: htmx from its npm package, the rest from console/. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  return new Map([
    ['htmx.min.js', { type: 'text/javascript', body: readFileSync(require.resolve('htmx.org/dist/htmx.min.js')) }],
    ['console.js', { type: 'text/javascript', body: readFileSync(path.join(PACKAGE_ROOT, 'console/console.js')) }],
    ['console.css', { type: 'text/css', body: readFileSync(path.join(PACKAGE_ROOT, 'console/console.css')) }],
  ]);
}

/**
 * The admin API operations (operationId in schema/openapi.json) behind each
 * console route: the console does nothing the API cannot do and audit alike
 * (issue 19). null: the console's own sign-in, files and pages that read no
 * data, and a replay's progress, which the API's caller follows page by page
 * itself. test/http/console-views.test.ts checks this table against the
 * routes and the document.
 */
export const CONSOLE_OPERATIONS: Readonly<Record<string, readonly string[] | null>> = {
  'GET /console/assets/:file': null,
  'GET /console/login': null,
  'POST /console/login': null,
  'GET /console': null,
  'POST /console/logout': null,
  'GET /console/events': ['listEvents'],
  'GET /console/events/rows': ['listEvents'],
  'GET /console/events/:id': ['getEvent', 'listRules'],
  'GET /console/subjects/:subject': ['listEvents', 'getEvent'],
  'GET /console/dead-letters': ['listDeadLetters'],
  'POST /console/dead-letters/retry': ['retryDeadLetters'],
  'GET /console/destinations': ['listDestinations'],
  'POST /console/destinations/:name/pause': ['pauseDestination'],
  'POST /console/destinations/:name/resume': ['resumeDestination'],
  'GET /console/replay': ['listRules', 'replayEvents'],
  'POST /console/replay': ['replayEvents'],
  'GET /console/replay/:id': null,
  'GET /console/replay/:id/progress': null,
  'GET /console/rules': ['listRules'],
  'POST /console/rules/test': ['testRules'],
  'GET /console/audit': ['listAudit'],
};

/** The console as a middleware, and its routes as `METHOD path` (for the check against CONSOLE_OPERATIONS). */
export type ConsoleMiddleware = Middleware & { routes: readonly string[] };

/** A role's rank: each role may do what the ones before it may. */
const RANK: Record<ConsoleRole, number> = { viewer: 0, reviewer: 1, admin: 2 };

/** Raised by a handler to answer with a status and a short page. */
class ConsoleReply extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConsoleReply';
  }
}

const equalTokens = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export function consoleApp(deps: ConsoleDeps): ConsoleMiddleware {
  const clock = deps.sessionClock ?? Date.now;
  const sessions = new SessionBook(() => deps.settings().sessionTimeoutMs, clock);
  const throttle = new LoginThrottle(clock);
  let assets: ReturnType<typeof loadAssets> | undefined;
  // Checked for a name nobody has, so an unknown name costs the same time as a wrong password. Made
  // once the console has users (at once, or at its first request after a reload added some): a scrypt
  // hash is a tenth of a second of CPU, which a herald without console users need not spend.
  let decoyHash: Promise<string> | undefined;
  const decoy = () => (decoyHash ??= hashPassword(newToken()));
  if (deps.settings().users.length > 0) void decoy();
  const router = new Router({ prefix: '/console' });
  const replays = new ReplayJobs();

  /** The event with a signed link to its archived media (the media archive's), as messages get it; shown to reviewers only. */
  const withMediaLink = <T extends { event: NormalizedEvent }>(detail: T): T => {
    const links = deps.routing().mediaLinks;
    return links ? { ...detail, event: links.withLink(detail.event, Date.now()) } : detail;
  };
  const userNamed = (name: string): ConsoleUser | undefined => deps.settings().users.find((u) => u.name === name);
  const operatorOf = (ctx: Context): Operator => ({ actor: session(ctx).user, via: 'console', remoteAddress: ctx.ip });
  const session = (ctx: Context) => ctx.state.consoleSession as ConsoleSession;
  const secure = (ctx: Context) => ctx.protocol === 'https' || ctx.get('x-forwarded-proto').split(',')[0]!.trim() === 'https';
  const cookieOptions = (ctx: Context) => {
    const overHttps = secure(ctx);
    // herald itself speaks plain HTTP: behind a TLS-terminating proxy, the cookies library must be told the
    // connection is secure, or it refuses a Secure cookie (an error, so a 500 for the sign-in form).
    if (overHttps) ctx.cookies.secure = true;
    return { httpOnly: true, sameSite: 'strict' as const, secure: overHttps, path: '/console', overwrite: true };
  };

  function render(ctx: Context, title: string, body: SafeHtml, current?: string): void {
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = page({ title, session: ctx.state.consoleSession as ConsoleSession | undefined, current }, body).text;
  }

  function requireRole(role: ConsoleRole): Middleware {
    return async (ctx, next) => {
      if (RANK[session(ctx).role] < RANK[role]) throw new ConsoleReply(403, `This needs the ${role} role.`);
      await next();
    };
  }

  // --- assets and sign-in, before any session -------------------------------------------------

  router.get('/assets/:file', (ctx) => {
    assets ??= loadAssets();
    const asset = assets.get(ctx.params.file!);
    if (!asset) throw new ConsoleReply(404, 'No such file.');
    ctx.type = asset.type;
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = asset.body;
  });

  router.get('/login', (ctx) => {
    const csrf = newToken();
    ctx.cookies.set(LOGIN_COOKIE, csrf, { ...cookieOptions(ctx), maxAge: 3_600_000 });
    render(ctx, 'Sign in', loginView(csrf, safeNext(queryString(ctx, 'next'))));
  });

  router.post('/login', async (ctx) => {
    const form = await readForm(ctx);
    const cookie = ctx.cookies.get(LOGIN_COOKIE);
    if (!cookie || !equalTokens(cookie, form.get('_csrf') ?? ''))
      throw new ConsoleReply(403, 'The sign-in form has expired: reload the page and sign in again.');
    const name = (form.get('name') ?? '').trim().slice(0, 64);
    const password = form.get('password') ?? '';
    const next = safeNext(form.get('next') ?? undefined);
    const address = ctx.ip;
    const again = (status: number, message: string) => {
      ctx.status = status;
      render(ctx, 'Sign in', loginView(cookie, next, message));
    };
    const waitMs = throttle.waitMs(name, address);
    if (waitMs > 0) {
      await recordAudit(deps.store, { actor: name, via: 'console', remoteAddress: address }, AUDIT_ACTIONS.consoleLoginFailed, name, { throttled: true });
      ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
      return again(429, `Too many failed sign-ins: try again in ${Math.ceil(waitMs / 60_000)} minute(s).`);
    }
    const user = userNamed(name);
    const matches = user ? await verifyPassword(password, user.passwordHash) : (await verifyPassword(password, await decoy()), false);
    if (!user || !matches) {
      throttle.failed(name, address);
      await recordAudit(deps.store, { actor: name, via: 'console', remoteAddress: address }, AUDIT_ACTIONS.consoleLoginFailed, name);
      return again(401, 'Wrong name or password.');
    }
    throttle.succeeded(name);
    await recordAudit(deps.store, { actor: user.name, via: 'console', remoteAddress: address }, AUDIT_ACTIONS.consoleLogin, user.name, { role: user.role });
    const { token } = sessions.create(user.name, user.role);
    // The cookie expires when the session must (SESSION_MAX_MS); the idle timeout ends it earlier on herald's side.
    ctx.cookies.set(SESSION_COOKIE, token, { ...cookieOptions(ctx), maxAge: SESSION_MAX_MS });
    ctx.cookies.set(LOGIN_COOKIE, null, cookieOptions(ctx));
    ctx.redirect(next);
    ctx.status = 303;
  });

  // --- everything else needs a session ---------------------------------------------------------

  router.use(async (ctx, next) => {
    const found = sessions.get(ctx.cookies.get(SESSION_COOKIE));
    // The account may have left the config, or changed role, since sign-in: the config decides.
    const user = found && userNamed(found.user);
    if (!found || !user) {
      if (ctx.method !== 'GET') throw new ConsoleReply(401, 'Your session has ended: sign in again.');
      const target = `/console/login?next=${encodeURIComponent(ctx.originalUrl)}`;
      if (ctx.get('hx-request')) {
        ctx.status = 401;
        ctx.set('HX-Redirect', target);
        return;
      }
      ctx.redirect(target);
      return;
    }
    found.role = user.role;
    ctx.state.consoleSession = found;
    if (ctx.method === 'POST') await checkCsrf(ctx, found);
    await next();
  });

  router.get('/', (ctx) => ctx.redirect('/console/events'));

  router.post('/logout', async (ctx) => {
    await recordAudit(deps.store, operatorOf(ctx), AUDIT_ACTIONS.consoleLogout, session(ctx).user);
    sessions.end(ctx.cookies.get(SESSION_COOKIE));
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions(ctx));
    ctx.redirect('/console/login');
    ctx.status = 303;
  });

  // --- pages -----------------------------------------------------------------------------------

  const eventQuery = (ctx: Context): EventQuery => ({
    source: queryString(ctx, 'source'),
    provider: queryString(ctx, 'provider'),
    type: queryString(ctx, 'type'),
    category: queryString(ctx, 'category'),
    outcome: queryString(ctx, 'outcome'),
    subject: queryString(ctx, 'subject')?.trim(),
    since: queryString(ctx, 'since'),
    until: queryString(ctx, 'until'),
    delivery: queryString(ctx, 'delivery'),
  });
  const listEvents = (ctx: Context, after: string | undefined) =>
    pageOf((f: EventFilter) => deps.store.listEvents(f), { ...eventFilterFromQuery(ctx), order: 'desc', after, limit: PAGE_SIZE });
  const masked = (items: Parameters<typeof maskPersonalFields>[0][]) => items.map((e) => maskPersonalFields(e, deps.providers));

  router.get('/events', async (ctx) => {
    const after = queryString(ctx, 'after');
    const found = await listEvents(ctx, after);
    render(ctx, 'Events', eventsView(eventQuery(ctx), { ...found, items: masked(found.items) }, after === undefined), '/console/events');
  });

  /** The first page's rows again, for the live update (htmx polling). */
  router.get('/events/rows', async (ctx) => {
    const found = await listEvents(ctx, undefined);
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = eventRows(masked(found.items)).text;
  });

  router.get('/events/:id', async (ctx) => {
    const pii = canReview(session(ctx)) && queryPii(ctx) === 'include';
    const found = await readEventDetail(deps, operatorOf(ctx), ctx.params.id!, pii ? 'include' : 'redact');
    if (!found) throw new ConsoleReply(404, 'No such event: it may have been pruned (retention).');
    const detail = pii ? withMediaLink(found) : found;
    render(ctx, `Event ${detail.event.type}`, eventView(detail, session(ctx), pii, queryString(ctx, 'message'), loadedRules(deps)), '/console/events');
  });

  router.get('/subjects/:subject', async (ctx) => {
    const subject = ctx.params.subject!;
    const pii = canReview(session(ctx)) && queryPii(ctx) === 'include';
    const events = await deps.store.listEvents({ subject, limit: TIMELINE_EVENTS });
    // Each event's personal data is read (and audited) one event at a time, as in the admin API.
    const details = [];
    for (const event of events) {
      const detail = await readEventDetail(deps, operatorOf(ctx), event.id, pii ? 'include' : 'redact');
      if (detail) details.push(pii ? withMediaLink(detail) : detail);
    }
    render(ctx, `Timeline of ${subject}`, subjectView(subject, details, session(ctx), pii), '/console/events');
  });

  router.get('/dead-letters', async (ctx) => {
    const query = { destination: queryString(ctx, 'destination'), rule: queryString(ctx, 'rule') };
    const found = await pageOf((f: DeliveryFilter) => deps.store.listDeliveries(f), {
      status: 'dead',
      ...query,
      after: queryString(ctx, 'after'),
      limit: PAGE_SIZE,
    });
    render(ctx, 'Dead letters', deadLettersView(query, found, session(ctx), queryString(ctx, 'message')), '/console/dead-letters');
  });

  router.post('/dead-letters/retry', requireRole('admin'), async (ctx) => {
    const form = ctx.state.form as URLSearchParams;
    const ids = form
      .getAll('ids')
      .filter((id) => id !== '')
      .slice(0, 1000);
    const reason = (form.get('reason') ?? '').trim();
    const back = safeNext(form.get('back') ?? '/console/dead-letters');
    if (ids.length === 0) return ctx.redirect(withMessage(back, 'Select at least one dead letter to retry.'));
    if (reason === '') return ctx.redirect(withMessage(back, 'Say why you retry, for the audit log.'));
    const results = await retryDeliveries(deps, operatorOf(ctx), ids, reason);
    const retried = results.filter((r) => r.status === 'retried').length;
    const refused = results.filter((r) => r.status !== 'retried').length;
    ctx.redirect(withMessage(back, `Retried ${retried} deliver${retried === 1 ? 'y' : 'ies'}${refused > 0 ? `; ${refused} could not be retried` : ''}.`));
    ctx.status = 303;
  });

  router.get('/destinations', async (ctx) => {
    render(ctx, 'Destinations', destinationsView(await destinationHealth(deps), session(ctx)), '/console/destinations');
  });

  for (const action of ['pause', 'resume'] as const) {
    router.post(`/destinations/:name/${action}`, requireRole('admin'), async (ctx) => {
      const state = await setPaused(deps, operatorOf(ctx), ctx.params.name!, action === 'pause');
      if (!state) throw new ConsoleReply(404, 'No such destination.');
      if (ctx.get('hx-request')) {
        const row = (await destinationHealth(deps)).find((d) => d.name === state.destination)!;
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = destinationRow(row, session(ctx)).text;
        return;
      }
      ctx.redirect('/console/destinations');
      ctx.status = 303;
    });
  }

  /** The replay form's fields, from a query or a posted form: `rules` once per rule checked (the older `rule` counts as one). */
  const replayQuery = (fields: URLSearchParams): ReplayQuery => {
    const value = (name: string) => fields.get(name) || undefined;
    const rules = [...new Set([...fields.getAll('rules'), ...fields.getAll('rule')].filter((r) => r !== ''))];
    return { since: value('since'), until: value('until'), rules, refreshSession: fields.get('refreshSession') !== null };
  };
  const ruleNames = () => deps.routing().rules.rules.map((r) => r.name);
  /** The replay request of a form or query: `since` required, times normalized; a wrong value is a 400 that says so. */
  function replayRequest(query: ReplayQuery) {
    const since = timeValue('since', query.since);
    if (since === undefined) throw new AdminInputError('"since" is required: replay the events received from then, e.g. 2026-01-31T12:00:00Z');
    const unknown = query.rules.find((rule) => !ruleNames().includes(rule));
    if (unknown !== undefined) throw new AdminInputError(`there is no rule "${unknown}"`);
    return {
      since,
      until: timeValue('until', query.until),
      ...(query.rules.length > 0 && { rules: query.rules }),
      ...(query.refreshSession && { refreshSession: true }),
    };
  }

  router.get('/replay', requireRole('admin'), async (ctx) => {
    const query = replayQuery(new URLSearchParams(ctx.querystring));
    if (query.since === undefined) return render(ctx, 'Replay', replayView(query, ruleNames(), session(ctx)), '/console/replay');
    const request = replayRequest(query);
    // The dry run stores nothing and is not audited (but for the personal data its preview shows a reviewer or admin, as
    // the Rules page does); it looks at a bounded number of events (fewer when it asks FaceSign for each session).
    const pii = canReview(session(ctx)) ? ('include' as const) : ('redact' as const);
    const plan: ReplayPlan = { total: 0, ...emptyReplayTotals(request.refreshSession === true), truncated: false, preview: [] };
    const [pages, limit] = request.refreshSession ? [1, REFRESHING_DRY_RUN_EVENTS] : [DRY_RUN_PAGES, 1000];
    let after: string | undefined;
    for (let done = 0; ; done++) {
      if (done === pages) {
        plan.truncated = true;
        break;
      }
      const preview = plan.preview.length < REPLAY_PREVIEW_LIMIT;
      const page = await replayRange(deps, operatorOf(ctx), { ...request, dryRun: true, after, limit, ...(preview && { preview, pii }) });
      if (page.total !== undefined) plan.total = page.total;
      addReplayPage(plan, page);
      plan.preview.push(...(page.preview ?? []).slice(0, REPLAY_PREVIEW_LIMIT - plan.preview.length));
      if (page.nextCursor === null) break;
      after = page.nextCursor;
    }
    render(ctx, 'Replay', replayView(query, ruleNames(), session(ctx), plan), '/console/replay');
  });

  router.post('/replay', requireRole('admin'), async (ctx) => {
    const form = ctx.state.form as URLSearchParams;
    const request = replayRequest(replayQuery(form));
    const operator = operatorOf(ctx);
    const job = replays.start(operator.actor, request, (page) => replayRange(deps, operator, page));
    ctx.redirect(`/console/replay/${job.id}`);
    ctx.status = 303;
  });

  router.get('/replay/:id', requireRole('admin'), (ctx) => {
    const job = replays.get(ctx.params.id!);
    if (!job) throw new ConsoleReply(404, 'No such replay (this process did not start it, or it was restarted).');
    render(
      ctx,
      'Replay',
      html`<p>
          Replaying the events received from
          <code>${job.request.since}</code>${job.request.until ? html` to <code>${job.request.until}</code>` : ''}${
            job.request.rules ? html`, ${job.request.rules.length === 1 ? 'rule' : 'rules'} ${codeList(job.request.rules)}` : ''
          }${job.request.refreshSession ? ', asking FaceSign for each session again' : ''},
          started by ${job.user}.
        </p>
        ${replayProgress(job)}
        <p><a href="/console/replay">Another replay</a></p>`,
      '/console/replay',
    );
  });

  router.get('/replay/:id/progress', requireRole('admin'), (ctx) => {
    const job = replays.get(ctx.params.id!);
    if (!job) throw new ConsoleReply(404, 'No such replay.');
    ctx.type = 'text/html; charset=utf-8';
    ctx.body = replayProgress(job).text;
  });

  router.get('/rules', (ctx) => {
    render(ctx, 'Rules', rulesView(loadedRules(deps), session(ctx), { eventId: queryString(ctx, 'event') }), '/console/rules');
  });

  // A POST only for the size of a pasted event: it reads, and changes nothing. The admin API's POST /api/rules/test.
  router.post('/rules/test', async (ctx) => {
    const form = ctx.state.form as URLSearchParams;
    const input = { event: form.get('event') ?? '', eventId: (form.get('eventId') ?? '').trim() };
    const again = (error: string) => {
      ctx.status = 400;
      render(ctx, 'Rules', rulesView(loadedRules(deps), session(ctx), input, undefined, error), '/console/rules');
    };
    let given: RulesTestInput;
    if (input.eventId !== '') {
      // What a stored event's messages show of its personal data is what the role may see: a reviewer's test reads
      // them (audited, as event.pii.read), a viewer's tests the masked copy.
      given = { eventId: input.eventId, pii: canReview(session(ctx)) ? 'include' : 'redact' };
    } else {
      try {
        given = { event: eventToTest(JSON.parse(input.event) as unknown) };
      } catch {
        return again('Paste a normalized event: a JSON object with "specversion": "1.0", as the event page shows it.');
      }
    }
    const result = await testRules(deps, operatorOf(ctx), given);
    if (result === undefined) return again(`There is no stored event ${input.eventId}.`);
    if (typeof result === 'string') return again(`${result}.`);
    render(ctx, 'Rules', rulesView(loadedRules(deps), session(ctx), input, result), '/console/rules');
  });

  router.get('/audit', requireRole('admin'), async (ctx) => {
    const query = { actor: queryString(ctx, 'actor'), action: queryString(ctx, 'action'), target: queryString(ctx, 'target') };
    const found = await pageOf((f: AuditFilter) => deps.store.listAudit(f), { ...query, order: 'desc', after: queryString(ctx, 'after'), limit: PAGE_SIZE });
    render(ctx, 'Audit log', auditView(query, found), '/console/audit');
  });

  const routes = router.routes() as unknown as Middleware;
  const allowed = router.allowedMethods() as unknown as Middleware;

  const middleware = async (ctx: Context, next: Next) => {
    if (ctx.path !== '/console' && !ctx.path.startsWith('/console/')) return next();
    // Without users there is no console: the same 404 as any unknown path.
    if (deps.settings().users.length === 0) return next();
    void decoy();
    const publicOrigin = deps.publicUrl?.() && new URL(deps.publicUrl()!).origin;
    ctx.set('Content-Security-Policy', publicOrigin ? CSP.replace("img-src 'self'", `img-src 'self' ${publicOrigin}`) : CSP);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'same-origin');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    try {
      await routes(ctx, () => allowed(ctx, async () => {}));
      if (ctx.status === 404 && ctx.body === undefined) throw new ConsoleReply(404, 'No such page.');
      if (!ctx.path.startsWith('/console/assets/')) ctx.set('Cache-Control', 'no-store');
    } catch (error) {
      const reply =
        error instanceof ConsoleReply
          ? error
          : error instanceof AdminInputError
            ? new ConsoleReply(400, error.message)
            : (error as { type?: string }).type === 'entity.too.large'
              ? new ConsoleReply(413, 'The form is too large.')
              : undefined;
      if (!reply) throw error;
      ctx.status = reply.status;
      ctx.set('Cache-Control', 'no-store');
      render(
        ctx,
        reply.status === 403 ? 'Not allowed' : reply.status === 404 ? 'Not found' : 'Cannot do that',
        html`<p>${reply.message}</p>
          <p><a href="/console/events">Back to the events</a></p>`,
      );
    }
  };
  const routeList = router.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => `${m} ${String(layer.path).replace(/\/$/, '')}`));
  return Object.assign(middleware, { routes: routeList });
}

/** A POST must carry the session's CSRF token, in the X-CSRF-Token header (htmx) or the `_csrf` field of its form. */
async function checkCsrf(ctx: Context, session: ConsoleSession): Promise<void> {
  const header = ctx.get('x-csrf-token');
  const form = ctx.is('application/x-www-form-urlencoded') ? await readForm(ctx) : new URLSearchParams();
  ctx.state.form = form;
  const given = header || form.get('_csrf') || '';
  if (!equalTokens(given, session.csrf)) throw new ConsoleReply(403, 'This form has expired (CSRF token missing or wrong): reload the page and try again.');
}

/** The body of a form POST. */
async function readForm(ctx: Context): Promise<URLSearchParams> {
  if (ctx.state.form) return ctx.state.form as URLSearchParams;
  const text = await getRawBody(ctx.req, { limit: '64kb', encoding: 'utf8' });
  return new URLSearchParams(text);
}

/** Where to go after signing in: a console path only, never another site (`//evil.example`). */
function safeNext(next: string | undefined): string {
  return next && /^\/console(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/console/events';
}

/** A console path with a message for the page to show. */
function withMessage(pathWithQuery: string, message: string): string {
  const url = new URL(pathWithQuery, 'http://console.invalid');
  url.searchParams.set('message', message);
  return `${url.pathname}${url.search}`;
}
