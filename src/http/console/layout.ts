/** The frame of every console page, and the small formatters the pages share. */
import type { ConsoleRole } from '../../core/config.js';
import { html, type SafeHtml } from './html.js';
import type { ConsoleSession } from './sessions.js';

/** htmx settings for a strict Content-Security-Policy: no inline styles it would add, no eval, no script tags in swaps. */
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
  selfRequestsOnly: true,
});

const NAV: Array<{ href: string; label: string; roles?: ConsoleRole[] }> = [
  { href: '/console/events', label: 'Events' },
  { href: '/console/dead-letters', label: 'Dead letters' },
  { href: '/console/destinations', label: 'Destinations' },
  { href: '/console/rules', label: 'Rules' },
  { href: '/console/replay', label: 'Replay', roles: ['admin'] },
  { href: '/console/audit', label: 'Audit', roles: ['admin'] },
];

export interface PageOptions {
  title: string;
  session?: ConsoleSession;
  /** The nav entry to mark as current. */
  current?: string;
}

export function page({ title, session, current }: PageOptions, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
<title>${title} · herald</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/htmx.min.js" defer></script>
<script src="/console/assets/console.js" defer></script>
</head>
<body${session ? html` hx-headers="${JSON.stringify({ 'x-csrf-token': session.csrf })}"` : ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/console/events">herald</a>
${
  session &&
  html`<nav aria-label="Console">
      <ul>
        ${NAV.filter((item) => !item.roles || item.roles.includes(session.role)).map(
          (item) => html`<li><a href="${item.href}" ${item.href === current ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
        )}
      </ul>
    </nav>
    <form class="signout" method="post" action="/console/logout">
      <input type="hidden" name="_csrf" value="${session.csrf}" />
      <span class="who">${session.user} <small>(${session.role})</small></span>
      <button type="submit">Sign out</button>
    </form>`
}
</header>
<main id="main">
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** The hidden CSRF field of a form. */
export const csrfField = (session: ConsoleSession) => html`<input type="hidden" name="_csrf" value="${session.csrf}" />`;

/** A time (ms or RFC 3339) as `2026-01-31 12:00:05Z`, in a <time> element. */
export function time(at: number | string | null | undefined): SafeHtml {
  if (at === null || at === undefined) return html`<span class="muted">–</span>`;
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

/** A status word as a badge. */
export const badge = (text: string | null | undefined) =>
  text ? html`<span class="badge badge-${text.replace(/[^a-z-]/g, '')}">${text}</span>` : html`<span class="muted">–</span>`;

/** JSON, pretty, as text: a payload can hold anything, it is escaped like every value. */
export const json = (value: unknown) => html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;

/** The link to a subject's timeline. */
export const subjectLink = (subject: string | null) =>
  subject ? html`<a href="/console/subjects/${encodeURIComponent(subject)}">${subject}</a>` : html`<span class="muted">–</span>`;

/** An informational or error note at the top of a page. */
export const notice = (text: string | undefined, kind: 'info' | 'error' = 'info') =>
  text ? html`<p class="notice notice-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</p>` : '';
