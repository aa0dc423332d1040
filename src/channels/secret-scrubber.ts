/**
 * Removes a destination's secrets from what an attempt records: excerpts of
 * answers, error messages. A receiver may print a secret back in any of the
 * forms it saw or stores it in: `401 invalid api key: <the ?key= value>`,
 * Slack's `token <token> is invalid`, a framework's 404 page echoing the
 * percent-encoded path, a debug page dumping the `Authorization` header in
 * base64. So each secret is looked for in every spelling it can take:
 *
 * - as written and percent-decoded;
 * - percent-encoded (upper- or lower-case hex, `+` or `%20` for a space);
 * - base64 and base64url, wherever the secret sits in the encoded text: the
 *   base64 of `user:` + password does not contain base64(password), so each of
 *   the three byte alignments contributes the characters that depend on the
 *   secret alone (a character or two at each edge, under 12 bits, stays).
 *
 * In an excerpt (the head of a longer answer), a secret cut off at its end is
 * scrubbed too: a trailing fragment of MIN_SECRET_LENGTH or more characters
 * that starts some spelling is replaced.
 */

export const REDACTED = '[redacted]';
/** Shorter fragments would blank out ordinary words; a URL path of "/" is no secret. */
export const MIN_SECRET_LENGTH = 4;

export class SecretScrubber {
  /** One alternation of every spelling of every secret, longest first so that a longer match wins. */
  private readonly pattern: RegExp | undefined;
  /** The spellings by their first two characters, to find one cut off at the end of a text. */
  private readonly byOpening = new Map<number, string[]>();
  private readonly longestSpelling: number = 0;

  constructor(secrets: Iterable<string>) {
    const spellings = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      for (const spelling of spellingsOf(secret)) if (spelling.length >= MIN_SECRET_LENGTH) spellings.add(spelling);
    }
    const longestFirst = [...spellings].sort((a, b) => b.length - a.length);
    this.pattern = longestFirst.length > 0 ? new RegExp(longestFirst.map(escapeRegExp).join('|'), 'g') : undefined;
    for (const spelling of longestFirst) {
      const opening = openingAt(spelling, 0);
      this.byOpening.set(opening, [...(this.byOpening.get(opening) ?? []), spelling]);
      this.longestSpelling = Math.max(this.longestSpelling, spelling.length);
    }
  }

  /** `text` with every spelling of every secret replaced by `[redacted]`. */
  scrub(text: string): string {
    return this.pattern && text !== '' ? text.replace(this.pattern, REDACTED) : text;
  }

  /** The head of an answer scrubbed like `scrub`, and a secret's start cut off at its end too. */
  scrubHead(head: string): string {
    const scrubbed = this.scrub(head);
    const cut = this.cutOffSecretAtEnd(scrubbed);
    return cut === 0 ? scrubbed : scrubbed.slice(0, -cut) + REDACTED;
  }

  /** The length of the longest end of `text` that is the start of a spelling (0 if none is long enough). */
  private cutOffSecretAtEnd(text: string): number {
    // Earliest start first: the first candidate that runs to the end is the longest.
    for (let at = Math.max(0, text.length - this.longestSpelling + 1); at <= text.length - MIN_SECRET_LENGTH; at++) {
      const candidates = this.byOpening.get(openingAt(text, at));
      if (!candidates) continue;
      const end = text.slice(at);
      if (candidates.some((spelling) => spelling.length > end.length && spelling.startsWith(end))) return end.length;
    }
    return 0;
  }
}

/**
 * The first two UTF-16 code units from `at`, folded into one small integer: the
 * key of SecretScrubber's table (15 bits each keeps it a fast small integer;
 * the rare collision only costs a `startsWith`).
 */
function openingAt(text: string, at: number): number {
  return ((text.charCodeAt(at) & 0x7fff) << 15) | (text.charCodeAt(at + 1) & 0x7fff);
}

/** The forms a receiver may print `secret` in (see the file comment). */
export function spellingsOf(secret: string): string[] {
  const forms = new Set([secret, safeDecode(secret)]);
  for (const form of [...forms]) {
    const encoded = encodeURIComponent(form);
    forms.add(encoded);
    forms.add(encoded.replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()));
    forms.add(encoded.replace(/%20/g, '+'));
  }
  for (const form of [...forms]) {
    const bytes = Buffer.from(form, 'utf8');
    const whole = bytes.toString('base64');
    for (const core of [whole, whole.replace(/=+$/, ''), ...base64Cores(bytes)]) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  return [...forms];
}

/**
 * For each of the three offsets (0, 1, 2 bytes) the secret may start at in a
 * longer base64 text, the run of base64 characters that depends on its bytes only.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil((offset * 8) / 6);
    const end = Math.floor(((offset + bytes.length) * 8) / 6);
    cores.push(encoded.slice(first, end));
  }
  return cores;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text; // a lone "%": not percent-encoded
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
