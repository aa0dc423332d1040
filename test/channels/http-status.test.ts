/**
 * The shared status -> retry table (product spec, "Delivery"), Retry-After
 * parsing, and how request errors are told apart. The channels' own tests
 * exercise the same functions against real servers.
 */
import assert from 'node:assert/strict';
import { classifyHttpFailure, httpFailureError, MAX_RETRY_AFTER_MS, parseRetryAfter, requestFailureError } from '../../src/channels/http-status.js';
import { RefusedAddressError } from '../../src/channels/private-address.js';
import type { DeliveryFailureReason } from '../../src/core/errors.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

describe('classifyHttpFailure', () => {
  const table: Array<[number[], boolean, DeliveryFailureReason]> = [
    [[408], true, 'timeout'],
    [[429], true, 'rate-limited'],
    [[500, 501, 502, 503, 504, 599], true, 'server-error'],
    [[401, 403], false, 'auth-error'],
    [[410], false, 'client-error'],
    [[400, 404, 405, 409, 413, 415, 422, 451], false, 'client-error'],
    [[300, 301, 302, 303, 304, 307, 308], false, 'client-error'],
  ];
  for (const [statuses, retryable, reason] of table) {
    it(`${statuses.join(', ')} -> ${retryable ? 'retryable' : 'permanent'} ${reason}`, () => {
      for (const status of statuses) assert.deepEqual(classifyHttpFailure(status), { retryable, reason }, `HTTP ${status}`);
    });
  }
});

describe('parseRetryAfter', () => {
  const table: Array<[string | null, number | undefined]> = [
    ['7', 7000],
    [' 120 ', 120_000],
    ['0', 0],
    [new Date(NOW + 90_000).toUTCString(), 90_000], // IMF-fixdate
    ['Sunday, 22-Nov-26 12:00:30 GMT', 30_000], // obsolete RFC 850 form
    [new Date(NOW - 60_000).toUTCString(), 0], // in the past: now
    ['999999', MAX_RETRY_AFTER_MS],
    [new Date(NOW + 7 * 86_400_000).toUTCString(), MAX_RETRY_AFTER_MS],
    [null, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['2027-01-01', undefined],
    ['Wed, 99 Foo 2026 25:61:00 GMT', undefined],
  ];
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} -> ${expected}`, () => {
      assert.equal(parseRetryAfter(value, NOW), expected);
    });
  }
});

describe('httpFailureError', () => {
  it('carries the status, the excerpt (the attempt guard scrubs and cuts it), and the Retry-After wait', () => {
    const error = httpFailureError('the webhook receiver', 503, { excerpt: 'x'.repeat(900), retryAfter: '30' });
    assert.equal(error.retryable, true);
    assert.equal(error.details.status, 503);
    assert.equal(error.details.excerpt?.length, 900);
    assert.equal(error.details.retryAfterMs, 30_000);
    assert.equal(error.message, 'the webhook receiver answered HTTP 503');
  });

  it('says what to do about a redirect, a 410 and refused credentials', () => {
    assert.match(httpFailureError('Slack', 302, {}).message, /does not follow redirects/);
    assert.match(httpFailureError('Slack', 410, { detail: 'channel_is_archived' }).message, /^Slack answered HTTP 410 channel_is_archived; .*gone/);
    assert.match(httpFailureError('Slack', 403, {}).message, /refused herald's credentials/);
  });
});

describe('requestFailureError', () => {
  const wrapped = (cause: unknown) => new TypeError('fetch failed', { cause });

  it('reads a time-out anywhere in the cause chain', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    for (const thrown of [timeout, wrapped(timeout), new Error('A request error occurred', { cause: wrapped(timeout) })]) {
      const error = requestFailureError('Slack', thrown, 300);
      assert.deepEqual([error.retryable, error.reason, error.message], [true, 'timeout', 'Slack did not answer within 300 ms']);
    }
  });

  it('makes network errors retryable and names the innermost cause', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']) {
      const cause = Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code });
      const error = requestFailureError('the webhook receiver', wrapped(cause), 300);
      assert.deepEqual([error.retryable, error.reason], [true, 'network'], code);
      assert.equal(error.message, `could not reach the webhook receiver: connect ${code} 10.0.0.1:443`);
    }
  });

  it('makes a refused private address permanent, wherever it is in the chain', () => {
    const refused = new RefusedAddressError('10.0.0.1');
    for (const thrown of [refused, wrapped(refused), new Error('A request error occurred', { cause: wrapped(refused) })]) {
      const error = requestFailureError('Slack', thrown, 300);
      assert.deepEqual([error.retryable, error.reason, error.message], [false, 'refused-address', refused.message]);
    }
  });
});
