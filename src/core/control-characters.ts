/**
 * Characters that do something to a screen instead of showing: C0 and C1
 * controls (ESC starts terminal sequences, CR returns to the start of the line,
 * BEL rings) and the Unicode format characters that reorder or separate lines
 * (bidirectional overrides, embeddings, isolates and marks; line and paragraph
 * separators). Text from events is shown with these written out, so that it can
 * only ever show as its own characters.
 */

/** Every control and direction-changing character, tab and line feed included. */
const CONTROL_CHARACTERS = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const SHORT_FORMS: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A control character as JSON writes it: `\n`, `\r`, `\t`, else `\u001b`. */
export function visibleControl(character: string): string {
  return SHORT_FORMS[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * `text` with every control character written out (`ESC` as `\u001b`, a line
 * break as `\n`), except those in `keep` (e.g. `'\n'` for text whose lines are
 * its own).
 */
export function showControlCharacters(text: string, keep = ''): string {
  return text.replace(CONTROL_CHARACTERS, (c) => (keep.includes(c) ? c : visibleControl(c)));
}
