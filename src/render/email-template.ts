/**
 * An email: `email.subject.liquid` and `email.text.liquid` (both required
 * together), and optionally `email.html.liquid`, whose inserted values are
 * HTML-escaped.
 */
import type { EmailMessage } from '../core/message.js';
import type { CompiledLiquid } from './compiled-liquid.js';
import { liquidString } from './escape.js';

export interface EmailTemplate {
  subject: CompiledLiquid;
  text: CompiledLiquid;
  html?: CompiledLiquid;
}

export const SUBJECT_MAX_CHARACTERS = 200;

/**
 * A subject is one line (a line break in a header would end it), without
 * control characters, at most 200 characters (RFC 5322 recommends lines under
 * 78; mail clients show far less): longer ones end with `…`.
 */
export function subjectLine(text: string): string {
  const line = text
    .replace(/[\r\n\t\v\f\u0085\u2028\u2029]+/g, ' ')
    .replace(/\p{Cc}/gu, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  const characters = [...line];
  return characters.length <= SUBJECT_MAX_CHARACTERS
    ? line
    : `${characters
        .slice(0, SUBJECT_MAX_CHARACTERS - 1)
        .join('')
        .trimEnd()}…`;
}

/** Renders subject, text and (when the template has it) HTML. Throws TemplateRenderError. */
export function renderEmail(template: EmailTemplate, scope: object, strict: boolean): EmailMessage {
  const render = (piece: CompiledLiquid) => liquidString(piece.render(scope, strict));
  return {
    channel: 'email',
    subject: subjectLine(render(template.subject)),
    text: render(template.text),
    ...(template.html && { html: render(template.html) }),
  };
}
