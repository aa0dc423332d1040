/**
 * herald's own Liquid filters, registered on every engine. Each one takes nil
 * (a field missing in lenient rendering) to a blank, and its errors never quote
 * the value, which is event data.
 *
 * Times need no filter of ours: liquidjs's `date` takes an IANA zone as its
 * second argument (`{{ event.time | date: "%Y-%m-%d %H:%M %Z", "Europe/Berlin" }}`),
 * and the engines print UTC when it is left out.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { REDACTED } from '../core/redact.js';
import { liquidString } from './escape.js';

/** A filter that was given the wrong kind of value; the message says what it expected, not what it got. */
export class TemplateFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateFilterError';
  }
}

const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
] as const;

/**
 * `{{ 3723000 | duration }}` is `1h 2m 3s`. The value is in milliseconds (how
 * herald and JavaScript count time); `| duration: "s"` reads seconds. Parts that
 * are zero are left out, under a second is `0s`.
 */
export function duration(value: unknown, unit: unknown = 'ms'): string {
  if (value === null || value === undefined || value === '') return '';
  if (unit !== 'ms' && unit !== 's') throw new TemplateFilterError('duration: the unit must be "ms" (the default) or "s"');
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw new TemplateFilterError('duration expects a number of milliseconds (or of seconds with `duration: "s"`)');
  let rest = Math.floor(Math.abs(number) * (unit === 's' ? 1000 : 1));
  const parts: string[] = [];
  for (const [name, size] of UNITS) {
    const count = Math.floor(rest / size);
    rest -= count * size;
    if (count > 0) parts.push(`${count}${name}`);
  }
  const text = parts.length > 0 ? parts.join(' ') : '0s';
  return number < 0 && text !== '0s' ? `-${text}` : text;
}

/**
 * `{{ "sess_8Kq2vX4mN7pR" | mask }}` is `•••••••••••••N7pR`: one bullet per
 * hidden character, the last `keep` (default 4) shown. A value no longer than
 * `keep` is hidden entirely, since showing it would mask nothing.
 */
export function mask(value: unknown, keep: unknown = 4): string {
  const characters = [...liquidString(value)];
  const shown = Number(keep);
  if (!Number.isInteger(shown) || shown < 0) throw new TemplateFilterError('mask: the number of characters to keep must be a whole number, 0 or more');
  if (characters.length <= shown) return '•'.repeat(characters.length);
  return '•'.repeat(characters.length - shown) + characters.slice(characters.length - shown).join('');
}

/**
 * `{{ "203.0.113.42" | mask_ip }}` is `203.0.113.x`; an IPv6 address keeps its
 * first three groups (`2001:db8:85a3:x:x:x:x:x`), an IPv4-mapped one is masked
 * as IPv4. Anything that is not an address (already `[redacted]`, or garbage)
 * becomes `[redacted]`: a filter meant to hide a value never prints it whole.
 */
export function maskIp(value: unknown): string {
  if (value === null || value === undefined || value === '') return '';
  const text = liquidString(value).trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text)?.[1];
  const v4 = mapped ?? text;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.x`;
  if (isIPv6(text)) return `${ipv6Groups(text).slice(0, 3).join(':')}:x:x:x:x:x`;
  return REDACTED;
}

/** The eight groups of an IPv6 address, `::` expanded, leading zeros dropped. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0');
  return [...left, ...zeros, ...right].map((group) => group.replace(/^0+(?=.)/, '').toLowerCase());
}

/** The filters every engine registers, by their Liquid name. */
export const HERALD_FILTERS: Record<string, (value: unknown, ...args: unknown[]) => string> = {
  duration,
  mask,
  mask_ip: maskIp,
};
