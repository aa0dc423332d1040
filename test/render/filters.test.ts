import assert from 'node:assert/strict';
import { duration, mask, maskIp } from '../../src/render/filters.js';
import { loadTemplates } from '../../src/render/templates.js';
import type { EmailMessage } from '../../src/core/message.js';
import { scopeFor, templatesFolder } from './helpers.js';

/** Renders `source` as an email text body, strictly, with `event` in scope. */
function renderText(source: string, event: unknown, strict = true): string {
  const set = loadTemplates(templatesFolder({ t: { 'email.subject.liquid': 'subject', 'email.text.liquid': source } }));
  return (set.render('t', 'email', scopeFor(event, 'email'), { strict }) as EmailMessage).text;
}

describe('template filters', () => {
  describe('date (liquidjs) with a time zone', () => {
    const event = { time: '2026-11-18T10:13:24.000Z' };

    it('takes an IANA zone as its second argument', () => {
      assert.equal(renderText('{{ event.time | date: "%Y-%m-%d %H:%M %Z", "Europe/Berlin" }}', event), '2026-11-18 11:13 Europe/Berlin');
      assert.equal(renderText('{{ event.time | date: "%H:%M %z", "America/New_York" }}', event), '05:13 -0500');
    });

    it('prints UTC when no zone is given, whatever the server zone', () => {
      assert.equal(renderText('{{ event.time | date: "%Y-%m-%d %H:%M:%S %Z" }}', event), '2026-11-18 10:13:24 UTC');
    });

    it('prints English month names, whatever the server locale', () => {
      assert.equal(renderText('{{ event.time | date: "%B %-d, %Y" }}', event), 'November 18, 2026');
    });

    it('fails to render with an unknown zone, without quoting the event', () => {
      assert.throws(
        () => renderText('{{ event.time | date: "%H", "Mars/Olympus" }}', event),
        (error: Error) => {
          assert.match(error.message, /RangeError in `\{\{ event.time \| date: "%H", "Mars\/Olympus" \}\}`/);
          assert.doesNotMatch(error.message, /2026-11-18/);
          return true;
        },
      );
    });
  });

  describe('duration', () => {
    it('reads milliseconds and writes the parts that are not zero', () => {
      assert.equal(duration(3_723_000), '1h 2m 3s');
      assert.equal(duration(90_061_000), '1d 1h 1m 1s');
      assert.equal(duration(3_600_000), '1h');
      assert.equal(duration(999), '0s');
      assert.equal(duration(0), '0s');
      assert.equal(duration(-61_000), '-1m 1s');
      assert.equal(duration('120000'), '2m');
    });

    it('reads seconds with "s"', () => {
      assert.equal(duration(3723, 's'), '1h 2m 3s');
      assert.equal(duration(1.5, 's'), '1s');
    });

    it('is blank for nil, and refuses what is not a number without quoting it', () => {
      assert.equal(duration(null), '');
      assert.equal(duration(undefined), '');
      assert.throws(
        () => duration('secret-value-123'),
        (error: Error) => !error.message.includes('secret-value-123') && /milliseconds/.test(error.message),
      );
      assert.throws(() => duration(1, 'h'), /unit must be "ms"/);
    });

    it('works as a Liquid filter', () => {
      assert.equal(renderText('{{ event.ms | duration }} / {{ event.s | duration: "s" }}', { ms: 3_723_000, s: 90 }), '1h 2m 3s / 1m 30s');
    });

    it('fails to render on a non-number, naming the expression but not the value', () => {
      assert.throws(
        () => renderText('{{ event.v | duration }}', { v: 'private-text' }),
        (error: Error) => {
          assert.match(error.message, /email\.text\.liquid:1:\d+: duration expects a number of milliseconds .* in `\{\{ event.v \| duration \}\}`/);
          assert.doesNotMatch(error.message, /private-text/);
          return true;
        },
      );
    });
  });

  describe('mask', () => {
    it('keeps the last 4 characters by default, one bullet per hidden one', () => {
      assert.equal(mask('sess_8Kq2vX4mN7pR'), '•••••••••••••N7pR');
    });

    it('keeps as many as asked', () => {
      assert.equal(mask('sess_8Kq2vX4mN7pR', 6), '•••••••••••4mN7pR');
      assert.equal(mask('abcdef', 0), '••••••');
      assert.equal(mask('abcdef', 2), '••••ef');
    });

    it('hides a value no longer than what it would keep', () => {
      assert.equal(mask('abcd'), '••••');
      assert.equal(mask('ab'), '••');
      assert.equal(mask(''), '');
      assert.equal(mask(null), '');
    });

    it('counts characters, not UTF-16 units', () => {
      assert.equal(mask('😀😀😀😀😀x'), '••😀😀😀x');
    });

    it('works as a Liquid filter', () => {
      assert.equal(renderText('{{ event.id | mask }} {{ event.id | mask: 2 }}', { id: '12345678' }), '••••5678 ••••••78');
    });
  });

  describe('mask_ip', () => {
    it('masks the last octet of an IPv4 address', () => {
      assert.equal(maskIp('203.0.113.42'), '203.0.113.x');
      assert.equal(maskIp(' 198.51.100.7 '), '198.51.100.x');
    });

    it('keeps the first 3 groups of an IPv6 address', () => {
      assert.equal(maskIp('2001:db8:85a3::8a2e:370:7334'), '2001:db8:85a3:x:x:x:x:x');
      assert.equal(maskIp('2001:0DB8::1'), '2001:db8:0:x:x:x:x:x');
      assert.equal(maskIp('::1'), '0:0:0:x:x:x:x:x');
    });

    it('masks an IPv4-mapped IPv6 address as IPv4', () => {
      assert.equal(maskIp('::ffff:203.0.113.42'), '203.0.113.x');
    });

    it('never prints what is not an address', () => {
      assert.equal(maskIp('[redacted]'), '[redacted]');
      assert.equal(maskIp('somebody@example.com'), '[redacted]');
      assert.equal(maskIp('999.1.1.1'), '[redacted]');
      assert.equal(maskIp(null), '');
    });

    it('works as a Liquid filter', () => {
      assert.equal(renderText('{{ event.ip | mask_ip }}', { ip: '203.0.113.42' }), '203.0.113.x');
    });
  });
});
