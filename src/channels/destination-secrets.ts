/**
 * Which parts of a destination are secrets, for the SecretScrubber: whoever
 * learns one can post to the destination or read what it protects.
 *
 * - a URL as a whole, its path with the query, and its userinfo (SMTP
 *   credentials live there);
 * - every query value of a Slack or webhook URL (`?key=`, `?token=`, `?sig=`);
 * - path segments: every one of a Slack URL but `services`
 *   (`/services/T…/B…/<token>`: the token *is* the URL's secret), and of a
 *   webhook URL those of 16 characters or more, where services such as
 *   Discord or Zapier put their tokens;
 * - a webhook's signing secret, with and without `whsec_`, and the value of
 *   every header it is configured to send, with each word of it (the token
 *   after `Bearer`) and, for `Basic`, the decoded user and password.
 */

/** A webhook path segment this long is taken for a token; shorter ones are names like `hooks` or `v1`. */
const TOKEN_SEGMENT_LENGTH = 16;

export interface UrlSecretOptions {
  /** Which path segments are secret: every one (Slack), the long ones (webhooks), or none (SMTP). */
  pathSegments: 'all' | 'long' | 'none';
  /** Path segments that are fixed words, not secrets (Slack's `services`). */
  publicSegments?: readonly string[];
  /** Whether query values are secret (no for SMTP, whose query holds nodemailer's options). */
  queryValues: boolean;
}

/** The secret parts of `url` (see the file comment). */
export function urlSecrets(url: string, options: UrlSecretOptions): string[] {
  const secrets = [url];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return secrets; // not a URL: the config checks reject it; the string itself is still scrubbed
  }
  secrets.push(parsed.href, parsed.pathname + parsed.search, parsed.username, parsed.password);
  if (options.queryValues) {
    secrets.push(parsed.search.slice(1));
    for (const [, value] of parsed.searchParams) secrets.push(value);
    // The raw spellings too: URLSearchParams decodes them.
    for (const pair of parsed.search.slice(1).split('&')) secrets.push(pair.slice(pair.indexOf('=') + 1));
  }
  if (options.pathSegments !== 'none') {
    const segments = parsed.pathname.split('/').filter((segment) => segment !== '');
    const minimum = options.pathSegments === 'all' ? 0 : TOKEN_SEGMENT_LENGTH;
    const isPublic = (segment: string) => options.publicSegments?.includes(segment) ?? false;
    secrets.push(...segments.filter((segment) => segment.length >= minimum && !isPublic(segment)));
  }
  return secrets;
}

/** The values of a webhook's configured headers, each word of them, and Basic credentials decoded. */
export function headerSecrets(headers: Record<string, string>): string[] {
  const secrets: string[] = [];
  for (const value of Object.values(headers)) {
    const words = value.split(/\s+/).filter((word) => word !== '');
    // `<scheme> <credentials>`: the scheme (Bearer, Basic, Token) is no secret.
    const scheme = words.length === 2 && /^[A-Za-z]+$/.test(words[0]!) ? words[0]!.toLowerCase() : undefined;
    secrets.push(value, ...(scheme === undefined ? words : words.slice(1)));
    if (scheme === 'basic') {
      const credentials = Buffer.from(words[1]!, 'base64').toString('utf8');
      const colon = credentials.indexOf(':');
      secrets.push(credentials, ...(colon > 0 ? [credentials.slice(0, colon), credentials.slice(colon + 1)] : []));
    }
  }
  return secrets;
}
