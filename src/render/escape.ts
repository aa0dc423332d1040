/**
 * How a value inserted by `{{ }}` is escaped, per channel. Template text itself
 * is never escaped: the template author is trusted, event data is not.
 */

/** The escaping a channel's text needs. */
export type Escaping = 'none' | 'slack' | 'html';

/** A value as Liquid prints it: nil is blank, a list is its items run together. */
export function liquidString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(liquidString).join('');
  return String(value);
}

const SLACK_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Slack mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping):
 * with `<` and `>` escaped, event data can never write `<!channel>`, `<@U123>` or
 * a link; only these three may be escaped, Slack decodes no other entity.
 */
export function escapeSlack(value: unknown): string {
  return liquidString(value).replace(/[&<>]/g, (c) => SLACK_ENTITIES[c]!);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** HTML text and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return liquidString(value).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}
