/**
 * The shared signature primitives. What matters for timing: every configured secret
 * is tried even after one matched, and a candidate of the wrong length neither
 * throws (timingSafeEqual would) nor matches.
 */
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { RejectionReason } from '../../src/core/errors.js';
import { anySecretMatches, checkUnixTimestamp, hmacSha256, tokensEqual } from '../../src/providers/crypto.js';
import { NOW_MS, NOW_S, assertRejected, hmac } from './helpers.js';

const SECRETS = ['first-secret', 'second-secret', 'third-secret'];
const PARTS = ['1795000000.', Buffer.from('{"id":"evt_1"}')];
const SIGNED = Buffer.from('1795000000.{"id":"evt_1"}');
const macWith = (secret: string) => hmac(secret, SIGNED);

/** Counts createHmac calls made through node:crypto's ESM exports while `fn` runs. */
function countHmacs(fn: () => void): number {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const original = crypto.createHmac;
  let calls = 0;
  crypto.createHmac = ((...args: Parameters<typeof original>) => {
    calls += 1;
    return original(...args);
  }) as typeof original;
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    crypto.createHmac = original;
    syncBuiltinESMExports();
  }
  return calls;
}

describe('provider crypto helpers', () => {
  describe('hmacSha256', () => {
    it('is HMAC-SHA256 of the concatenated parts', () => {
      assert.deepEqual(hmacSha256('first-secret', PARTS), macWith('first-secret'));
    });
  });

  describe('anySecretMatches', () => {
    it('returns true when only the last secret matches', () => {
      assert.equal(anySecretMatches(SECRETS, PARTS, [macWith('third-secret')]), true);
    });

    it('returns true when only the last candidate matches', () => {
      const wrong = macWith('unknown');
      assert.equal(anySecretMatches(SECRETS, PARTS, [wrong, wrong, macWith('second-secret')]), true);
    });

    it('returns false when nothing matches, or nothing is configured or sent', () => {
      assert.equal(anySecretMatches(SECRETS, PARTS, [macWith('unknown')]), false);
      assert.equal(anySecretMatches([], PARTS, [macWith('first-secret')]), false);
      assert.equal(anySecretMatches(SECRETS, PARTS, []), false);
    });

    it('computes the HMAC of every secret even when the first one matches', () => {
      const candidate = macWith('first-secret');
      const calls = countHmacs(() => assert.equal(anySecretMatches(SECRETS, PARTS, [candidate]), true));
      assert.equal(calls, SECRETS.length);
    });

    it('handles candidates of the wrong length without throwing', () => {
      const full = macWith('first-secret');
      for (const candidate of [Buffer.alloc(0), full.subarray(0, 31), Buffer.concat([full, Buffer.from([0])]), Buffer.alloc(64)]) {
        assert.equal(anySecretMatches(SECRETS, PARTS, [candidate]), false, `length ${candidate.length}`);
      }
      assert.equal(anySecretMatches(SECRETS, PARTS, [full.subarray(0, 16), full]), true, 'a short candidate does not hide a good one');
    });
  });

  describe('tokensEqual', () => {
    it('is true only for the same token, and never throws on different lengths', () => {
      assert.equal(tokensEqual('token-abc', 'token-abc'), true);
      assert.equal(tokensEqual('token-abd', 'token-abc'), false);
      assert.equal(tokensEqual('token-ab', 'token-abc'), false);
      assert.equal(tokensEqual('', 'token-abc'), false);
      assert.equal(tokensEqual('token-abc-and-more', 'token-abc'), false);
    });
  });

  describe('checkUnixTimestamp', () => {
    const tolerance = 300_000;
    const cases: Array<[string, string | undefined, RejectionReason | null]> = [
      ['now', String(NOW_S), null],
      ['exactly the tolerance ago', String(Math.ceil((NOW_MS - tolerance) / 1000)), null],
      ['one second beyond the tolerance', String(NOW_S - 301), 'timestamp-outside-tolerance'],
      ['one second beyond the tolerance, ahead', String(NOW_S + 301), 'timestamp-outside-tolerance'],
      ['milliseconds instead of seconds', String(NOW_MS), 'signature-malformed'],
      ['missing', undefined, 'signature-missing'],
      ['empty', '', 'signature-malformed'],
      ['negative', `-${NOW_S}`, 'signature-malformed'],
      ['a decimal', `${NOW_S}.5`, 'signature-malformed'],
      ['an ISO date', new Date(NOW_MS).toISOString(), 'signature-malformed'],
    ];
    for (const [name, raw, reason] of cases) {
      it(`${name}: ${reason ?? 'accepted'}`, () => {
        if (reason === null) assert.equal(checkUnixTimestamp(raw, NOW_MS, tolerance), Number(raw));
        else assertRejected(() => checkUnixTimestamp(raw, NOW_MS, tolerance), reason);
      });
    }
  });
});
