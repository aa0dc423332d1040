/**
 * The email channel against a real SMTP server (smtp-server, messages parsed
 * with mailparser) that requires a login and refuses recipients on demand.
 */
import assert from 'node:assert/strict';
import type { AddressObject } from 'mailparser';
import { EmailChannel } from '../../src/channels/email.js';
import type { EmailMessage } from '../../src/core/message.js';
import { SMTP_PASSWORD, SMTP_PASSWORD_IN_URL, attemptContext, closedPort, expectFailure, timed } from './helpers.js';
import { waitUntil } from '../helpers/sinks.js';
import { startEndlessGreetingPeer, startSilentPeer, startSmtpPeer, type SmtpPeer } from './smtp-peer.js';

const MESSAGE: EmailMessage = {
  channel: 'email',
  subject: 'Verification failed: evt_1',
  text: 'The check for evt_1 failed.\n',
  html: '<p>The check for <b>evt_1</b> failed.</p>',
};

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  [field ?? []].flat().flatMap((object) => object.value.map((address) => address.address));

describe('email channel', () => {
  let smtp: SmtpPeer;
  const channels: EmailChannel[] = [];
  /** A channel to the test server, closed after the test. */
  function channelFor(options: { to?: string[]; cc?: string[]; bcc?: string[]; password?: string; port?: number } = {}): EmailChannel {
    const smtpUrl = `smtp://herald:${options.password ?? SMTP_PASSWORD_IN_URL}@127.0.0.1:${options.port ?? smtp.port}`;
    const channel = new EmailChannel({
      name: 'compliance-email',
      type: 'email',
      options: {
        smtp: smtpUrl,
        from: 'herald <herald@example.com>',
        to: options.to ?? ['compliance@example.com'],
        ...(options.cc && { cc: options.cc }),
        ...(options.bcc && { bcc: options.bcc }),
      },
    });
    channels.push(channel);
    return channel;
  }

  beforeEach(async () => {
    smtp = await startSmtpPeer('herald', SMTP_PASSWORD);
  });
  afterEach(async () => {
    await Promise.all(channels.splice(0).map((channel) => channel.close()));
    await smtp.close();
  });

  it('logs in and sends subject, text and html from and to the configured addresses', async () => {
    const channel = channelFor({ cc: ['Ops <ops@example.com>'], bcc: ['audit@example.com'] });
    const result = await channel.send(MESSAGE, attemptContext());
    assert.match(result.excerpt ?? '', /^250 /);
    assert.equal(smtp.mails.length, 1);
    const mail = smtp.mails[0]!;
    assert.equal(mail.user, 'herald');
    assert.equal(mail.mailFrom, 'herald@example.com');
    assert.deepEqual(mail.rcptTo, ['compliance@example.com', 'ops@example.com', 'audit@example.com']);
    assert.equal(mail.parsed.subject, MESSAGE.subject);
    assert.equal(mail.parsed.text, MESSAGE.text);
    assert.equal(mail.parsed.html, MESSAGE.html);
    assert.deepEqual(mail.parsed.from?.value, [{ address: 'herald@example.com', name: 'herald' }]);
    assert.deepEqual(addresses(mail.parsed.to), ['compliance@example.com']);
    assert.deepEqual(addresses(mail.parsed.cc), ['ops@example.com']);
    assert.deepEqual(addresses(mail.parsed.bcc), [], 'Bcc is in the envelope only');
    assert.equal(mail.parsed.messageId, '<msg_2f9c1@herald>');
  });

  it('sends text alone when the template has no html, and reuses the pooled connection', async () => {
    const channel = channelFor();
    await channel.send({ channel: 'email', subject: 'one', text: 'first' }, attemptContext());
    await channel.send({ channel: 'email', subject: 'two', text: 'second' }, attemptContext({ messageId: 'msg_2' }));
    assert.deepEqual(
      smtp.mails.map((mail) => [mail.parsed.subject, mail.parsed.text?.trim(), mail.parsed.html]),
      [
        ['one', 'first', false],
        ['two', 'second', false],
      ],
    );
    assert.equal(smtp.connections, 1);
  });

  it('retries a 452 (try later) and dead-letters a 550 (no such user)', async () => {
    const deferred = await expectFailure(channelFor({ to: ['full@example.com'] }).send(MESSAGE, attemptContext()), { retryable: true, reason: 'server-error' });
    assert.match(deferred.message, /452 .*Mailbox full/);
    const refused = await expectFailure(channelFor({ to: ['nobody@example.com'] }).send(MESSAGE, attemptContext()), {
      retryable: false,
      reason: 'client-error',
    });
    assert.match(refused.message, /550 .*No such user/);
    assert.equal(smtp.mails.length, 0);
  });

  it('succeeds when some recipients are refused, and names them', async () => {
    const result = await channelFor({ to: ['compliance@example.com', 'nobody@example.com'] }).send(MESSAGE, attemptContext());
    assert.match(result.excerpt ?? '', /refused: nobody@example\.com$/);
    assert.equal(smtp.mails.length, 1);
  });

  it('fails a refused login (535) permanently without the password or URL in the message', async () => {
    const wrong = 'wrong!Pw-Zr44';
    const error = await expectFailure(channelFor({ password: encodeURIComponent(wrong) }).send(MESSAGE, attemptContext()), {
      retryable: false,
      reason: 'auth-error',
    });
    assert.match(error.message, /535/);
    // The server printed the password back verbatim and inside base64("\0herald\0<password>").
    const base64Runs = [0, 1, 2].map((offset) =>
      Buffer.concat([Buffer.alloc(offset), Buffer.from(wrong)])
        .toString('base64')
        .slice(4, -4),
    );
    for (const text of [error.message, error.details.excerpt ?? '']) {
      assert.ok(!text.includes(wrong) && !text.includes(encodeURIComponent(wrong)) && !text.includes('smtp://'), text);
      for (const run of base64Runs) assert.ok(!text.includes(run), `the password in base64 leaked into: ${text}`);
    }
    assert.match(error.details.excerpt!, /AUTH PLAIN [A-Za-z0-9+/=]*\[redacted\]/);
  });

  it('drops a server whose reply never ends after a few KiB, and retries', async () => {
    const endless = await startEndlessGreetingPeer(512 * 1024);
    try {
      const sending = channelFor({ port: endless.port }).send(MESSAGE, attemptContext({ timeoutMs: 10_000 }));
      const error = await expectFailure(sending, { retryable: true, reason: 'network' });
      assert.match(error.message, /exceeds maximum allowed size/);
      await waitUntil(() => endless.hungUp, 5000, 'the connection to be dropped');
    } finally {
      await endless.close();
    }
  });

  it('cuts a server that never greets at the time-out', async () => {
    const silent = await startSilentPeer();
    try {
      const sending = channelFor({ port: silent.port }).send(MESSAGE, attemptContext({ timeoutMs: 300 }));
      const ms = await timed(expectFailure(sending, { retryable: true, reason: 'timeout' }));
      assert.ok(ms >= 290 && ms < 2000, `took ${ms} ms`);
    } finally {
      await silent.close();
    }
  });

  it('retries a refused connection as a network error', async () => {
    const port = await closedPort();
    const error = await expectFailure(channelFor({ port }).send(MESSAGE, attemptContext()), { retryable: true, reason: 'network' });
    assert.match(error.message, /ECONNREFUSED/);
  });

  it('refuses a message rendered for another channel', async () => {
    await expectFailure(channelFor().send({ channel: 'slack', payload: { text: 'hi' } }, attemptContext()), { retryable: false, reason: 'render-failed' });
  });
});
