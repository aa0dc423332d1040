/**
 * Whatever a payload schema accepts, normalize must turn into an event with an
 * RFC 3339 time: a signed, schema-valid payload that made normalize throw would be
 * answered 500, and the sender would retry it for ever.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { facesign } from '../../src/providers/facesign.js';
import { legaltalent } from '../../src/providers/legaltalent.js';
import { owleyes } from '../../src/providers/owleyes.js';
import type { Provider } from '../../src/providers/provider.js';
import { loadSample } from '../../src/providers/samples.js';
import { NOW_MS, RFC3339, request, validatePayload } from './helpers.js';

/** The last millisecond RFC 3339 can write (9999-12-31T23:59:59.999Z); a JavaScript Date goes on to 8.64e15. */
const MAX_RFC3339_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Schema-valid payloads normalize to an RFC 3339 time; returns whether the schema accepted it. */
function checkNormalizes(provider: Provider, payload: Record<string, unknown>): boolean {
  if (!validatePayload(provider, payload).valid) return false;
  const facts = provider.normalize(payload, request(JSON.stringify(payload)), NOW_MS);
  assert.match(facts.time, RFC3339);
  if (facts.media?.expires) assert.match(facts.media.expires, RFC3339);
  return true;
}

/** Integers in and beyond the writable range, and its edges. */
const anyMs = fc.oneof(
  fc.integer({ min: 0, max: MAX_RFC3339_MS }),
  fc.integer({ min: MAX_RFC3339_MS - 2, max: MAX_RFC3339_MS + 2 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const MAX_RFC3339_S = Math.floor(MAX_RFC3339_MS / 1000);
const anySeconds = fc.oneof(
  fc.integer({ min: 0, max: MAX_RFC3339_S }),
  fc.integer({ min: MAX_RFC3339_S - 2, max: MAX_RFC3339_S + 2 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

describe('normalize: every schema-valid payload has a writable time', () => {
  it('facesign: createdAt and media.expires, up to the year 9999 and beyond', () => {
    const photo = loadSample('facesign', 'media.user_photo');
    assert.equal(checkNormalizes(facesign, { ...photo, createdAt: MAX_RFC3339_MS }), true);
    assert.equal(checkNormalizes(facesign, { ...photo, createdAt: MAX_RFC3339_MS + 1 }), false);
    fc.assert(
      fc.property(anyMs, anyMs, (createdAt, expires) => {
        checkNormalizes(facesign, { ...photo, createdAt, media: { ...(photo.media as object), expires } });
      }),
    );
  });

  it('legaltalent: created (Unix seconds), up to the year 9999 and beyond', () => {
    const approved = loadSample('legaltalent', 'kyc.session.approved');
    assert.equal(checkNormalizes(legaltalent, { ...approved, created: MAX_RFC3339_S }), true);
    assert.equal(checkNormalizes(legaltalent, { ...approved, created: MAX_RFC3339_S + 1 }), false);
    fc.assert(
      fc.property(anySeconds, (created) => {
        checkNormalizes(legaltalent, { ...approved, created });
      }),
    );
  });

  it('owleyes: any created_at the date-time format accepts, leap seconds included', () => {
    const started = loadSample('owleyes', 'verification.started');
    const two = (n: number) => String(n).padStart(2, '0');
    const dateTime = fc
      .record({
        year: fc.integer({ min: 1000, max: 9998 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 31 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 60 }),
        fraction: fc.option(fc.integer({ min: 0, max: 999_999 }), { nil: undefined }),
        offset: fc.oneof(fc.constant('Z'), fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 })),
      })
      .map((t) => {
        const zone =
          typeof t.offset === 'string' ? t.offset : `${t.offset < 0 ? '-' : '+'}${two(Math.floor(Math.abs(t.offset) / 60))}:${two(Math.abs(t.offset) % 60)}`;
        const fraction = t.fraction === undefined ? '' : `.${t.fraction}`;
        return `${t.year}-${two(t.month)}-${two(t.day)}T${two(t.hour)}:${two(t.minute)}:${two(t.second)}${fraction}${zone}`;
      });
    // Leap seconds are rare among random times: make sure some are checked.
    const leap = fc.constantFrom('2016-12-31T23:59:60Z', '2016-12-31T23:59:60.25Z', '2017-01-01T00:59:60+01:00', '2016-12-31T20:59:60-03:00');
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(dateTime, leap), (createdAt) => {
        if (checkNormalizes(owleyes, { ...started, created_at: createdAt })) accepted += 1;
      }),
      { numRuns: 500 },
    );
    assert.ok(accepted > 50, `only ${accepted} generated times were schema-valid`);
  });
});
