/** Durations in config files: an integer and a unit, e.g. `300s`, `2m`, `3d`. */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$';
const DURATION_RE = new RegExp(DURATION_PATTERN);

/** Parses a duration to milliseconds; throws on anything the config schema would reject. */
export function parseDuration(text: string): number {
  if (!DURATION_RE.test(text)) {
    throw new TypeError(`"${text}" is not a duration: write a whole number and a unit (ms, s, m, h, d), e.g. "300s"`);
  }
  const unit = text.replace(/^[0-9]+/, '') as keyof typeof UNIT_MS;
  return Number.parseInt(text, 10) * UNIT_MS[unit];
}
