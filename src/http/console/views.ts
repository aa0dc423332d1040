/** The console's pages, as HTML fragments inside the layout (layout.ts); every value goes through `html`'s escaping. */
import { CATEGORIES, HERALD, OUTCOMES, PROVIDER_IDS, type NormalizedEvent } from '../../core/event.js';
import type { EventDetail } from '../../pipeline/operator/event-detail.js';
import { QUEUE_SNAPSHOT_MAX_AGE_MS } from '../../pipeline/mechanisms/queue-snapshot-cache.js';
import { RATE_WINDOW_MINUTES, type DestinationHealth, type RuleSummary, type RulesTestResult } from '../../pipeline/operator/operator-actions.js';
import type { ReplayPreviewItem } from '../../pipeline/operator/replay.js';
import type { ReplayTotals } from '../../pipeline/operator/replay-totals.js';
import type { AuditEntry, Delivery, Page } from '../../store/store.js';
import { html, queryString, type SafeHtml } from './html.js';
import { badge, csrfField, json, notice, subjectLink, time } from './layout.js';
import type { ConsoleSession } from './sessions.js';

export const canReview = (session: ConsoleSession) => session.role === 'reviewer' || session.role === 'admin';
export const canAct = (session: ConsoleSession) => session.role === 'admin';

export function loginView(csrf: string, next: string, error?: string): SafeHtml {
  return html`${notice(error, 'error')}
    <form class="login" method="post" action="/console/login">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <input type="hidden" name="next" value="${next}" />
      <label for="name">Name</label>
      <input id="name" name="name" autocomplete="username" required autofocus />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <button type="submit">Sign in</button>
    </form>`;
}

/** The filters of the events page, as they appear in its URL. */
export type EventQuery = Record<'source' | 'provider' | 'type' | 'category' | 'outcome' | 'subject' | 'since' | 'until' | 'delivery', string | undefined>;

const option = (value: string, selected: string | undefined, label = value) =>
  html`<option value="${value}" ${value === selected ? html` selected` : ''}>${label}</option>`;

function select(name: string, label: string, values: readonly string[], selected: string | undefined): SafeHtml {
  return html`<div class="field">
    <label for="f-${name}">${label}</label>
    <select id="f-${name}" name="${name}">
      ${option('', selected, 'any')}${values.map((v) => option(v, selected))}
    </select>
  </div>`;
}

const text = (name: string, label: string, value: string | undefined, placeholder = '') =>
  html`<div class="field">
    <label for="f-${name}">${label}</label><input id="f-${name}" name="${name}" value="${value ?? ''}" placeholder="${placeholder}" />
  </div>`;

export function eventRows(events: readonly NormalizedEvent[]): SafeHtml {
  if (events.length === 0)
    return html`<tr>
      <td colspan="6" class="muted">No events match.</td>
    </tr>`;
  return html`${events.map(
    (e) =>
      html`<tr>
        <td>${time(e.receivedAt)}</td>
        <td><a href="/console/events/${e.id}">${e.type}</a></td>
        <td>${badge(e.outcome)}</td>
        <td>${subjectLink(e.subject)}</td>
        <td>${e.source}</td>
        <td>${e.category}</td>
      </tr>`,
  )}`;
}

export function eventsView(query: EventQuery, page: Page<NormalizedEvent>, live: boolean): SafeHtml {
  const filters = queryString(query);
  return html`<form class="filters" method="get" action="/console/events" role="search">
      ${text('subject', 'Subject', query.subject, 'session or verification id')} ${text('source', 'Source', query.source)}
      ${select('provider', 'Provider', [...PROVIDER_IDS, HERALD], query.provider)} ${text('type', 'Type', query.type)}
      ${select('category', 'Category', CATEGORIES, query.category)} ${select('outcome', 'Outcome', OUTCOMES, query.outcome)}
      ${select('delivery', 'Delivery', ['pending', 'delivered', 'dead'], query.delivery)} ${text('since', 'Since (UTC)', query.since, '2026-01-31T12:00:00Z')}
      ${text('until', 'Until (UTC)', query.until, '2026-02-01T00:00:00Z')}
      <div class="field actions"><button type="submit">Search</button> <a href="/console/events">Clear</a></div>
    </form>
    <div class="table-wrap">
      <table class="list">
        <caption class="sr-only">
          Events, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Type</th>
            <th scope="col">Outcome</th>
            <th scope="col">Subject</th>
            <th scope="col">Source</th>
            <th scope="col">Category</th>
          </tr>
        </thead>
        <tbody id="rows" ${live ? html` hx-get="/console/events/rows${filters}" hx-trigger="every 5s" hx-swap="innerHTML" aria-live="polite"` : ''}>
          ${eventRows(page.items)}
        </tbody>
      </table>
    </div>
    ${live && html`<p class="muted small">New events appear as they arrive.</p>`}
    ${page.nextCursor && html`<p class="pager"><a rel="next" href="/console/events${queryString({ ...query, after: page.nextCursor })}">Older events →</a></p>`}`;
}

/** One line of a subject's timeline. */
interface TimelineItem {
  at: number;
  kind: 'event' | 'enrichment' | 'delivery' | 'attempt';
  body: SafeHtml;
}

const ms = (iso: string) => Date.parse(iso);

function timelineItems(detail: EventDetail, session: ConsoleSession, pii: boolean): TimelineItem[] {
  const e = detail.event;
  const items: TimelineItem[] = [
    {
      at: ms(e.receivedAt),
      kind: 'event',
      body: html`<a href="/console/events/${e.id}${pii ? '?pii=include' : ''}"><strong>${e.type}</strong></a> ${badge(e.outcome)}
        <span class="muted">from ${e.source} (${e.provider}), happened ${time(e.time)}</span>
        ${mediaView(e, session, pii)}`,
    },
  ];
  if (e.enrichment) {
    items.push({
      at: e.enrichment.fetchedAt ? ms(e.enrichment.fetchedAt) : ms(e.receivedAt),
      kind: 'enrichment',
      body: html`Session fetched from the provider's API${e.enrichment.error ? html`: <span class="error">${e.enrichment.error}</span>` : ''}
      ${
        e.session &&
        html`<details>
          <summary>event.session${typeof e.session.status === 'string' ? html` (status ${e.session.status})` : ''}</summary>
          ${json(e.session)}
        </details>`
      }`,
    });
  }
  for (const { delivery, attempts } of detail.deliveries) {
    items.push({
      at: delivery.createdAt,
      kind: 'delivery',
      body: html`Rule <strong>${delivery.rule}</strong> → ${delivery.destination} ${badge(delivery.status)}`,
    });
    for (const a of attempts) {
      items.push({
        at: a.startedAt,
        kind: 'attempt',
        body: html`Attempt ${a.attempt} to ${delivery.destination}: ${badge(a.outcome)} ${a.status !== null ? html`<code>${a.status}</code>` : ''}
          <span class="muted">${a.durationMs} ms</span> ${a.error && html`<span class="error">${a.error}</span>`}`,
      });
    }
  }
  return items;
}

/**
 * Archived media, for reviewers who asked to see personal data. The media
 * archive (event.media.archived, another part of herald) may be absent: then
 * the provider's URL, which expires, is not shown as an image.
 */
function mediaView(event: NormalizedEvent, session: ConsoleSession, pii: boolean): SafeHtml | '' {
  // The media archive's copy, with the signed link the console made for this page (console-app.ts withMediaLink).
  const archived = event.media?.archived;
  if (!archived) return '';
  if (!canReview(session)) return html`<span class="muted">(media archived: reviewers can see it)</span>`;
  if (!pii) return html`<span class="muted">(media archived: show personal data to see it)</span>`;
  // Only herald's own or a web address: never a javascript: URL in an href.
  if (typeof archived.url !== 'string' || !/^(https?:\/\/|\/(?!\/))/i.test(archived.url))
    return html`<span class="muted">(media archived; no link: server.publicUrl is not set)</span>`;
  return html`<a class="thumb" href="${archived.url}"><img src="${archived.url}" alt="Archived media of event ${event.id}" loading="lazy" width="160" /></a>`;
}

export function subjectView(subject: string, details: readonly EventDetail[], session: ConsoleSession, pii: boolean): SafeHtml {
  const items = details.flatMap((d) => timelineItems(d, session, pii)).sort((a, b) => a.at - b.at);
  return html`<p>
      <span class="muted">Subject</span> <code>${subject}</code> · ${details.length} event(s) ·
      <a href="/console/events${queryString({ subject })}">as a list</a>
    </p>
    ${piiSwitch(session, pii, `/console/subjects/${encodeURIComponent(subject)}`)}
    ${
      items.length === 0
        ? html`<p class="muted">No events about this subject.</p>`
        : html`<ol class="timeline">
            ${items.map(
              (item) =>
                html`<li class="tl-${item.kind}">
                  <span class="tl-time">${time(item.at)}</span><span class="tl-kind">${item.kind}</span>
                  <div class="tl-body">${item.body}</div>
                </li>`,
            )}
          </ol>`
    }`;
}

function piiSwitch(session: ConsoleSession, pii: boolean, path: string): SafeHtml | '' {
  if (!canReview(session)) return html`<p class="muted small">Personal data is masked.</p>`;
  return pii
    ? html`<p class="notice notice-info" role="status">Personal data shown; this viewing is in the audit log. <a href="${path}">Mask it</a></p>`
    : html`<p><a class="button" href="${path}?pii=include">Show personal data and media</a> <span class="muted small">(written to the audit log)</span></p>`;
}

/** Why a rule fires: its match and condition, as loaded now (the event was routed with the rules of its time). */
function ruleReason(name: string, rules: readonly RuleSummary[]): SafeHtml {
  const rule = rules.find((r) => r.name === name);
  if (!rule) return html`<span class="muted small">(no longer loaded)</span>`;
  return html`<span class="muted small">matches</span> <code class="excerpt">${JSON.stringify(rule.match)}</code>${
      rule.when !== undefined ? html` <span class="muted small">when</span> <code class="excerpt">${JSON.stringify(rule.when)}</code>` : ''
    } <span class="muted small">(${rule.file})</span>`;
}

export function eventView(detail: EventDetail, session: ConsoleSession, pii: boolean, message?: string, rules: readonly RuleSummary[] = []): SafeHtml {
  const e = detail.event;
  return html`${notice(message)}
    <dl class="facts">
      <dt>Type</dt>
      <dd>${e.type}</dd>
      <dt>Outcome</dt>
      <dd>${badge(e.outcome)}</dd>
      <dt>Subject</dt>
      <dd>${subjectLink(e.subject)}</dd>
      <dt>Source</dt>
      <dd>${e.source} (${e.provider})</dd>
      <dt>Category</dt>
      <dd>${e.category}</dd>
      <dt>Happened</dt>
      <dd>${time(e.time)}</dd>
      <dt>Received</dt>
      <dd>${time(e.receivedAt)}</dd>
      <dt>Event id</dt>
      <dd><code>${e.id}</code></dd>
    </dl>
    ${piiSwitch(session, pii, `/console/events/${e.id}`)} ${mediaView(e, session, pii)}
    <p><a href="/console/rules?event=${e.id}">Test this event against the rules in force</a></p>
    <h2>Rules that fired</h2>
    ${
      detail.matchedRules.length === 0
        ? html`<p class="muted">No rule sent anything for this event.</p>`
        : html`<ul>
            ${detail.matchedRules.map((r) => html`<li><code>${r}</code> ${ruleReason(r, rules)}</li>`)}
          </ul>`
    }
    ${
      detail.routingErrors.length > 0 &&
      html`<h3>Routing errors</h3>
        <ul>
          ${detail.routingErrors.map((r) => html`<li><code>${r.rule ?? '(routing)'}</code>: <span class="error">${r.error}</span></li>`)}
        </ul>`
    }
    <h2>Deliveries</h2>
    ${
      detail.deliveries.length === 0
        ? html`<p class="muted">None.</p>`
        : detail.deliveries.map(
            ({ delivery: d, attempts }) =>
              html`<section class="delivery">
                <h3>${d.rule} → ${d.destination} ${badge(d.status)}</h3>
                <p class="muted small">
                  Delivery <code>${d.id}</code>, made
                  ${time(d.createdAt)}${d.retriedAt !== null ? html`, retried ${time(d.retriedAt)}` : ''}${d.lastError && html` · <span class="error">${d.lastError}</span>`}
                </p>
                ${
                  attempts.length > 0 &&
                  html`<div class="table-wrap">
                    <table class="list">
                      <thead>
                        <tr>
                          <th scope="col">#</th>
                          <th scope="col">Started</th>
                          <th scope="col">Outcome</th>
                          <th scope="col">Status</th>
                          <th scope="col">Time</th>
                          <th scope="col">Response or error</th>
                        </tr>
                      </thead>
                      <tbody>
                        ${attempts.map(
                          (a) =>
                            html`<tr>
                              <td>${a.attempt}</td>
                              <td>${time(a.startedAt)}</td>
                              <td>${badge(a.outcome)}</td>
                              <td>${a.status ?? '–'}</td>
                              <td>${a.durationMs} ms</td>
                              <td><code class="excerpt">${a.error ?? a.responseExcerpt ?? ''}</code></td>
                            </tr>`,
                        )}
                      </tbody>
                    </table>
                  </div>`
                }
                ${
                  canAct(session) &&
                  d.status === 'dead' &&
                  d.message !== null &&
                  html`<form method="post" action="/console/dead-letters/retry" class="inline">
                    ${csrfField(session)} <input type="hidden" name="ids" value="${d.id}" /><input type="hidden" name="back" value="/console/events/${e.id}" />
                    <label for="reason-${d.id}">Reason</label> <input id="reason-${d.id}" name="reason" required /> <button type="submit">Retry</button>
                  </form>`
                }
              </section>`,
          )
    }
    <h2>Payload</h2>
    ${json(e.data)}`;
}

export interface DeadLetterQuery {
  destination?: string;
  rule?: string;
}

export function deadLettersView(query: DeadLetterQuery, page: Page<Delivery>, session: ConsoleSession, message?: string): SafeHtml {
  const admin = canAct(session);
  const rows = page.items.map(
    (d) =>
      html`<tr>
        ${admin && html`<td><input type="checkbox" name="ids" value="${d.id}" aria-label="Select delivery ${d.id}" /></td>`}
        <td>${time(d.updatedAt)}</td>
        <td>${d.destination}</td>
        <td><code>${d.rule}</code></td>
        <td><a href="/console/events/${d.eventId}">event</a></td>
        <td>${d.attempts}</td>
        <td><span class="error">${d.lastError ?? ''}</span></td>
      </tr>`,
  );
  const table = html`<div class="table-wrap">
    <table class="list">
      <caption class="sr-only">
        Dead letters
      </caption>
      <thead>
        <tr>
          ${admin && html`<th scope="col"><input type="checkbox" data-select-all="ids" aria-label="Select all" /></th>`}
          <th scope="col">Dead since</th>
          <th scope="col">Destination</th>
          <th scope="col">Rule</th>
          <th scope="col">Event</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        ${
          page.items.length === 0
            ? html`<tr>
                <td colspan="7" class="muted">No dead letters.</td>
              </tr>`
            : rows
        }
      </tbody>
    </table>
  </div>`;
  return html`${notice(message)}
    <form class="filters" method="get" action="/console/dead-letters" role="search">
      ${text('destination', 'Destination', query.destination)} ${text('rule', 'Rule', query.rule)}
      <div class="field actions"><button type="submit">Filter</button> <a href="/console/dead-letters">Clear</a></div>
    </form>
    ${
      admin
        ? html`<form method="post" action="/console/dead-letters/retry">
            ${csrfField(session)} ${table}
            <div class="bulk">
              <label for="reason">Reason (for the audit log)</label> <input id="reason" name="reason" required /> <button type="submit">Retry selected</button>
            </div>
          </form>`
        : html`${table}
            <p class="muted small">Admins can retry dead letters.</p>`
    }
    ${page.nextCursor && html`<p class="pager"><a rel="next" href="/console/dead-letters${queryString({ ...query, after: page.nextCursor })}">More →</a></p>`}`;
}

/** A destination's attempts per minute, delivered then failed, with the counts they come from in a tooltip. */
function deliveryRate(rate: DestinationHealth['rate']): SafeHtml {
  const counts = `${rate.delivered} delivered, ${rate.failed} failed in the last ${rate.windowMinutes} minutes`;
  const failed = rate.failed > 0 ? html`<span class="error">${rate.failedPerMinute} failed</span>` : '0 failed';
  return html`<span title="${counts}">${rate.deliveredPerMinute} delivered, ${failed}</span>`;
}

export function destinationRow(d: DestinationHealth, session: ConsoleSession): SafeHtml {
  return html`<tr id="dest-${d.name}">
    <td>${d.name}</td>
    <td>${d.type}</td>
    <td>${d.paused ? badge('paused') : badge('running')}</td>
    <td>${badge(d.breaker)}</td>
    <td>${d.pending}${d.oldestDueAt && html` <span class="muted small">(due since ${time(d.oldestDueAt)})</span>`}</td>
    <td>${deliveryRate(d.rate)}</td>
    <td>${d.deadLast24h}</td>
    <td><span class="error">${d.lastError ?? ''}</span></td>
    ${
      canAct(session) &&
      html`<td>
        <form
          method="post"
          action="/console/destinations/${encodeURIComponent(d.name)}/${d.paused ? 'resume' : 'pause'}"
          hx-post="/console/destinations/${encodeURIComponent(d.name)}/${d.paused ? 'resume' : 'pause'}"
          hx-target="#dest-${d.name}"
          hx-swap="outerHTML"
        >
          ${csrfField(session)} <button type="submit">${d.paused ? 'Resume' : 'Pause'}</button>
        </form>
      </td>`
    }
  </tr>`;
}

export function destinationsView(destinations: readonly DestinationHealth[], session: ConsoleSession): SafeHtml {
  return html`<div class="table-wrap">
      <table class="list">
        <caption class="sr-only">
          Destinations
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">State</th>
            <th scope="col">Breaker</th>
            <th scope="col">Queue</th>
            <th scope="col">Per minute (${RATE_WINDOW_MINUTES} min)</th>
            <th scope="col">Dead (24 h)</th>
            <th scope="col">Last error</th>
            ${canAct(session) && html`<th scope="col">Action</th>`}
          </tr>
        </thead>
        <tbody>
          ${destinations.map((d) => destinationRow(d, session))}
        </tbody>
      </table>
    </div>
    <p class="muted small">
      Pause and breaker state are this process's. Queue depths are read at most every ${QUEUE_SNAPSHOT_MAX_AGE_MS / 1000} s (as for /metrics); the rate counts
      the attempts of every process over the last ${RATE_WINDOW_MINUTES} minutes.
    </p>`;
}

export function auditView(query: Record<'actor' | 'action' | 'target', string | undefined>, page: Page<AuditEntry>): SafeHtml {
  return html`<form class="filters" method="get" action="/console/audit" role="search">
      ${text('actor', 'Actor', query.actor)}${text('action', 'Action', query.action, 'event.pii.read')}${text('target', 'Target', query.target)}
      <div class="field actions"><button type="submit">Filter</button> <a href="/console/audit">Clear</a></div>
    </form>
    <div class="table-wrap">
      <table class="list">
        <caption class="sr-only">
          Audit log, newest first
        </caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          ${
            page.items.length === 0
              ? html`<tr>
                  <td colspan="5" class="muted">Nothing recorded.</td>
                </tr>`
              : page.items.map(
                  (a) =>
                    html`<tr>
                      <td>${time(a.at)}</td>
                      <td>${a.actor}</td>
                      <td><code>${a.action}</code></td>
                      <td><code>${a.target}</code></td>
                      <td><code class="excerpt">${a.detail === null ? '' : JSON.stringify(a.detail)}</code></td>
                    </tr>`,
                )
          }
        </tbody>
      </table>
    </div>
    ${page.nextCursor && html`<p class="pager"><a rel="next" href="/console/audit${queryString({ ...query, after: page.nextCursor })}">Older →</a></p>`}`;
}

/** What the replay form holds. */
export interface ReplayQuery {
  since?: string;
  until?: string;
  /** The rules checked; none: every rule. */
  rules: string[];
  /** Ask FaceSign for each enriched event's session again. */
  refreshSession?: boolean;
}

/** The outcome of a dry run over a range: what a replay would send (its totals: the events looked at, as it stops after a bound). */
export interface ReplayPlan extends ReplayTotals {
  total: number;
  truncated: boolean;
  /** The first planned messages, rendered as they would be sent. */
  preview: ReplayPreviewItem[];
}

/** Names as a list of code elements, comma separated. */
export const codeList = (names: readonly string[]): SafeHtml => html`${names.map((name, i) => html`${i > 0 ? ', ' : ''}<code>${name}</code>`)}`;

/** A checkbox per loaded rule, in a group a keyboard tabs through; none checked means every rule. */
function ruleChoices(rules: readonly string[], checked: readonly string[]): SafeHtml {
  return html`<fieldset class="field rule-choices">
    <legend>Rules (none checked: every rule)</legend>
    ${rules.map((rule) => html`<label><input type="checkbox" name="rules" value="${rule}" ${checked.includes(rule) ? 'checked' : ''} /> ${rule}</label>`)}
  </fieldset>`;
}

/** A planned message: its rule, destination and template, and the message rendered (as the Rules page shows one). */
function plannedMessage(n: { rule: string; destination: string; template: string; status: string; error?: string; message: unknown }): SafeHtml {
  return html`<h3><code>${n.rule}</code> → ${n.destination} (${n.template}) ${badge(n.status)}</h3>
    ${n.error && html`<p class="error">${n.error}</p>`}${n.message !== null && json(n.message)}`;
}

/** A dry run's first planned messages, each under a link to its event. */
function replayPreview(items: readonly ReplayPreviewItem[]): SafeHtml | '' {
  if (items.length === 0) return '';
  return html`<section aria-labelledby="preview">
    <h2 id="preview">The first ${items.length} message(s) it would send</h2>
    ${items.map(
      (item) =>
        html`<article class="preview-item">
          <p>
            Event <a href="/console/events/${item.eventId}"><code>${item.eventId}</code></a>
          </p>
          ${
            item.kind === 'delivery'
              ? plannedMessage(item)
              : html`<h3><code>${item.rule}</code> → ${item.destination} (${item.template})</h3>
                  <p>Joins the batch <code>${item.key}</code>: sent with its next message.</p>`
          }
        </article>`,
    )}
  </section>`;
}

export function replayView(query: ReplayQuery, rules: readonly string[], session: ConsoleSession, plan?: ReplayPlan, message?: string): SafeHtml {
  return html`${notice(message, 'error')}
    <p>
      Replay routes the events received in a time range through the rules in force now: new deliveries are made, the earlier ones are kept; the events of a rule
      that groups, digests or throttles join its batch again and go out in its next message. First see what it would send (a dry run stores nothing), then
      confirm.
    </p>
    <form class="filters" method="get" action="/console/replay">
      ${text('since', 'Since (UTC, required)', query.since, '2026-01-31T12:00:00Z')} ${text('until', 'Until (UTC)', query.until, '2026-02-01T00:00:00Z')}
      ${ruleChoices(rules, query.rules)}
      <div class="field">
        <label><input type="checkbox" name="refreshSession" value="1" ${query.refreshSession ? 'checked' : ''} /> Ask FaceSign for each session again</label>
      </div>
      <div class="field actions"><button type="submit">Dry run</button></div>
    </form>
    ${
      plan &&
      html`<section aria-labelledby="plan">
        <h2 id="plan">Dry run</h2>
        <p>
          ${plan.total} event(s) in the range${plan.truncated ? html` (the dry run looked at the first ${plan.events})` : ''}; a replay would make
          <strong>${plan.deliveries}</strong> deliver${plan.deliveries === 1 ? 'y' : 'ies'}${plan.truncated ? ' or more' : ''}${
            plan.batched > 0 ? html` and add <strong>${plan.batched}</strong> event(s) to batches, sent with their rules' next message` : ''
          }${plan.notRouted > 0 ? html`; ${plan.notRouted} event(s) not routed yet are left to routing, which sends them` : ''}.
        </p>
        ${
          plan.sessions &&
          html`<p>
            ${plan.sessions.refreshed} session(s) fetched again from
            FaceSign${
              plan.sessions.failed.length > 0
                ? html`; <span class="error">${plan.sessions.failed.length} could not be</span> (their events would be replayed with the session stored)`
                : ''
            }.
          </p>`
        }
        ${replayRuleTable(plan)}
        ${
          plan.deliveries + plan.batched > 0 &&
          html`<form method="post" action="/console/replay" class="inline">
            ${csrfField(session)} <input type="hidden" name="since" value="${query.since ?? ''}" /><input
              type="hidden"
              name="until"
              value="${query.until ?? ''}"
            />${query.rules.map((rule) => html`<input type="hidden" name="rules" value="${rule}" />`)}${
              query.refreshSession ? html`<input type="hidden" name="refreshSession" value="1" />` : ''
            }
            <button type="submit">Replay ${plan.total} event(s)</button>
          </form>`
        }
        ${replayPreview(plan.preview)}
      </section>`
    }`;
}

/** A dry run's counts by rule; a Batched column when some rule batches. */
function replayRuleTable(plan: ReplayPlan): SafeHtml | '' {
  const rules = [...new Set([...Object.keys(plan.byRule), ...Object.keys(plan.batchedByRule)])];
  if (rules.length === 0) return '';
  const batches = plan.batched > 0;
  return html`<table class="list">
    <thead>
      <tr>
        <th scope="col">Rule</th>
        <th scope="col">Deliveries</th>
        ${batches ? html`<th scope="col">Batched</th>` : ''}
      </tr>
    </thead>
    <tbody>
      ${rules.map(
        (rule) =>
          html`<tr>
            <td><code>${rule}</code></td>
            <td>${plan.byRule[rule] ?? 0}</td>
            ${batches ? html`<td>${plan.batchedByRule[rule] ?? 0}</td>` : ''}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function replayProgress(job: ReplayTotals & { id: string; total: number | null; done: boolean; error: string | null }): SafeHtml {
  const total = job.total ?? 0;
  return html`<div id="progress" ${job.done ? '' : html` hx-get="/console/replay/${job.id}/progress" hx-trigger="every 1s" hx-swap="outerHTML"`} role="status">
    <progress max="${Math.max(total, 1)}" value="${job.events}">${job.events} of ${total}</progress>
    <p>
      ${job.events} of ${total} event(s) replayed, ${job.deliveries} deliver${job.deliveries === 1 ? 'y' : 'ies'}
      made${job.batched > 0 ? `, ${job.batched} added to batches` : ''}${job.notRouted > 0 ? `, ${job.notRouted} not routed yet left to routing` : ''}.
      ${
        job.sessions &&
        html`${job.sessions.refreshed} session(s) fetched again from
        FaceSign${
          job.sessions.failed.length > 0
            ? html`, <span class="error">${job.sessions.failed.length} could not be</span> (their events were replayed with the session stored)`
            : ''
        }.`
      }
      ${job.done ? (job.error ? html`<span class="error">Stopped: ${job.error}</span>` : html`<strong>Done.</strong>`) : 'Running…'}
    </p>
  </div>`;
}

export function rulesView(
  rules: readonly RuleSummary[],
  session: ConsoleSession,
  input: { event?: string; eventId?: string },
  result?: RulesTestResult,
  error?: string,
): SafeHtml {
  return html`<h2>Test an event</h2>
    <p>Which rules fire for an event, and every message they would send, rendered: nothing is sent or stored (like <code>herald rules test</code>).</p>
    ${notice(error, 'error')}
    <form method="post" action="/console/rules/test" class="rules-test">
      ${csrfField(session)}
      <div class="field"><label for="eventId">A stored event's id</label><input id="eventId" name="eventId" value="${input.eventId ?? ''}" /></div>
      <div class="field">
        <label for="event">or a normalized event (JSON, as the event page and GET /api/events/{id} show it)</label>
        <textarea id="event" name="event" rows="8" spellcheck="false">${input.event ?? ''}</textarea>
      </div>
      <div class="field actions"><button type="submit">Test</button></div>
    </form>
    ${
      result &&
      html`<section aria-labelledby="result">
        <h2 id="result">Result for ${result.event.type}</h2>
        <p>${result.fired.length === 0 ? 'No rule fires.' : html`Fires: ${result.fired.map((r, i) => html`${i > 0 ? ', ' : ''}<code>${r}</code>`)}`}</p>
        ${
          result.failed.length > 0 &&
          html`<ul>
            ${result.failed.map((f) => html`<li><code>${f.rule ?? '(routing)'}</code>: <span class="error">${f.error}</span></li>`)}
          </ul>`
        }
        ${result.notifications.map(plannedMessage)}
      </section>`
    }
    <h2>Loaded rules</h2>
    <div class="table-wrap">
      <table class="list">
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Match</th>
            <th scope="col">Sends to</th>
            <th scope="col">File</th>
          </tr>
        </thead>
        <tbody>
          ${rules.map(
            (r) =>
              html`<tr>
                <td><code>${r.name}</code>${!r.enabled ? html` ${badge('disabled')}` : ''}${r.stop ? html` <span class="muted small">(stop)</span>` : ''}</td>
                <td><code class="excerpt">${JSON.stringify(r.match)}${r.when !== undefined ? ` when ${JSON.stringify(r.when)}` : ''}</code></td>
                <td>${r.notify.map((n) => html`<div>${n.to} <span class="muted small">(${n.template})</span></div>`)}</td>
                <td class="small">${r.file}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}
