/**
 * How a value inserted by `{{ }}` is escaped, per kind of text. Template text
 * itself is never escaped: the template author is trusted, event data is not.
 * Whatever the value holds, it shows as its own characters: it cannot start a
 * line of the message, format text, mention anyone or make a link. The
 * guarantees per channel, and why each escape is what it is, are in
 * templates/README.md ("Escaping").
 */
import { showControlCharacters } from '../core/control-characters.js';

/**
 * The escaping a kind of text needs: `none` (Slack URL fields), `text` (email
 * subject and plain-text body), `mrkdwn` (Slack's `text` and mrkdwn text
 * objects), `slack-plain` (Slack plain_text objects and other Slack strings),
 * `html` (email HTML body).
 */
export type Escaping = 'none' | 'text' | 'mrkdwn' | 'slack-plain' | 'html';

/** A value as Liquid prints it: nil is blank, a list is its items run together. */
export function liquidString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(liquidString).join('');
  return String(value);
}

/** What a line break in a value shows as: U+21B5, a visible mark on the same line. */
export const LINE_BREAK_MARK = '\u21b5';

/** Every way text can break a line: CRLF is one break. */
const LINE_BREAKS = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;

/**
 * A value on one line: its line breaks shown as `↵`, its other control and
 * direction-changing characters written out (`\u001b`, `\u202e`); tabs stay.
 * A value can then never start a line that looks like the template's own.
 */
export function escapeLines(value: unknown): string {
  return showControlCharacters(liquidString(value).replace(LINE_BREAKS, LINE_BREAK_MARK), '\t');
}

/** Slack's three control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
const SLACK_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/**
 * Slack has no escape for its formatting characters, so a value's are shown
 * with characters of the same shape that Slack does not read: `*bold*` from a
 * value shows as `∗bold∗`, never bold. Full-width forms are markers too.
 */
const MRKDWN_LOOKALIKES: Record<string, string> = {
  '*': '\u2217', // ∗ ASTERISK OPERATOR
  _: '\u02cd', // ˍ MODIFIER LETTER LOW MACRON
  '~': '\u223c', // ∼ TILDE OPERATOR
  '`': '\u02cb', // ˋ MODIFIER LETTER GRAVE ACCENT
  '\uff0a': '\ufe61', // ＊ -> ﹡ SMALL ASTERISK
  '\uff3f': '\u02cd', // ＿ -> ˍ
  '\uff5e': '\u223c', // ～ -> ∼
  '\uff40': '\u02cb', // ｀ -> ˋ
  ':': '\u2236', // ∶ RATIO, only where it would open an emoji code
  '>': '\u02c3', // ˃ MODIFIER LETTER RIGHT ARROWHEAD, only where it would start a quote
  '\uff1e': '\ufe65', // ＞ -> ﹥ SMALL GREATER-THAN SIGN, likewise
};

/**
 * What in a value could format Slack text:
 * - `& < >` (escaped as entities): mentions, links, `<!channel>`;
 * - `~`, `` ` `` and the full-width markers, anywhere;
 * - `*` and `_` unless between two ASCII letters or digits, where Slack never
 *   formats (`fragilistic*expiali*docious` stays as it is), so that ids like
 *   `sess_8Kq2` keep their underscore and can be copied;
 * - a `:` that opens an emoji code (`:white_check_mark:`); times (`10:13:24`) are left alone.
 */
const MRKDWN_SPECIAL = /[&<>~`\uff0a\uff3f\uff5e\uff40]|(?<![A-Za-z0-9])[*_]|[*_](?![A-Za-z0-9])|:(?=[A-Za-z0-9_+'-]*[A-Za-z_+'-][A-Za-z0-9_+'-]*:)/g;

/** `>` (or `＞`) as the first visible character of a value, which may be the start of a line: a quote. */
const LEADING_QUOTE = /^(\s*)([>\uff1e])/;

/**
 * Slack mrkdwn: the value on one line (see escapeLines), `& < >` as entities,
 * and its formatting characters as look-alikes Slack does not read (see
 * MRKDWN_LOOKALIKES). Links from bare URLs are stopped by `verbatim`, which
 * herald sets on every mrkdwn text object (see slack-template.ts).
 */
export function escapeMrkdwn(value: unknown): string {
  return escapeLines(value)
    .replace(LEADING_QUOTE, (_, space: string, mark: string) => space + MRKDWN_LOOKALIKES[mark]!)
    .replace(MRKDWN_SPECIAL, (c) => SLACK_ENTITIES[c] ?? MRKDWN_LOOKALIKES[c]!);
}

/** Slack text that is not mrkdwn (plain_text objects, `alt_text`): one line, `& < >` as entities. */
export function escapeSlackPlain(value: unknown): string {
  return escapeLines(value).replace(/[&<>]/g, (c) => SLACK_ENTITIES[c]!);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** HTML text and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return liquidString(value).replace(/[&<>"']/g, (c) => HTML_ENTITIES[c]!);
}
