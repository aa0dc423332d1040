/**
 * HTML written with a tagged template that escapes every value it is given:
 * html`<td>${event.subject}</td>` cannot be turned into markup by a payload,
 * whatever it holds. Only another html`` fragment (or a list of them) is
 * inserted as it is. Attribute values must be quoted in the template.
 */

/** Markup that is safe to insert: built by `html` from escaped values. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** `value` as text in HTML, in an element or a quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Value = SafeHtml | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A fragment of HTML; `false`, null and undefined write nothing, so `${cond && html`...`}` works. */
export function html(strings: TemplateStringsArray, ...values: Value[]): SafeHtml {
  let text = strings[0]!;
  values.forEach((value, i) => {
    text += render(value) + strings[i + 1]!;
  });
  return new SafeHtml(text);
}

/** A query string from the set values of `params` (empty ones left out), with its `?`, or ''. */
export function queryString(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
