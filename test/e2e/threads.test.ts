/**
 * Threads end to end (README, "Threads"): signed events in, and out to a real
 * SMTP server and to a local stand-in of Slack's Web API. Every email about one
 * subject to one destination is one thread (Message-ID, In-Reply-To,
 * References, parsed with mailparser); a slack-app destination starts a
 * thread per subject and replies in it with the first message's ts, kept in
 * the store across a restart.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { DestinationConfig, HeraldConfig } from '../../src/core/config.js';
import { startHerald, type RunningHerald, type StartOptions } from '../../src/app/start-herald.js';
import { loadSample } from '../../src/providers/samples.js';
import { loadRouting } from '../../src/app/setup.js';
import type { Delivery } from '../../src/store/store.js';
import { testConfig, testSources } from '../helpers/config.js';
import { settledDeliveries, signedRequest, tempDir } from '../helpers/herald.js';
import { startSmtpSink, waitUntil, type SmtpSink } from '../helpers/sinks.js';

const TOKEN = 'xoxb-4242-THREADtokenQv81Lz';
const sources = testSources();

/** One recorded Web API call: the method and its form parameters. */
interface ApiCall {
  method: string;
  params: Record<string, string>;
  authorization: string | undefined;
}

type ApiAnswer = { status?: number; headers?: Record<string, string>; body: Record<string, unknown> };

/**
 * Slack's Web API as far as herald uses it: POST /api/chat.postMessage and
 * /api/chat.update, form-encoded, answering `{ ok: true, channel, ts }` with a
 * fresh ts per message unless `script` answers otherwise.
 */
interface SlackApi {
  url: string;
  calls: ApiCall[];
  script: (call: ApiCall, index: number) => ApiAnswer | undefined;
  close(): Promise<void>;
}

async function startSlackApi(): Promise<SlackApi> {
  let messages = 0;
  const api: SlackApi = {
    url: '',
    calls: [],
    script: () => undefined,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      const call: ApiCall = { method: (req.url ?? '').replace(/^\/api\//, ''), params, authorization: req.headers.authorization };
      api.calls.push(call);
      const scripted = api.script(call, api.calls.length - 1);
      const answer: ApiAnswer = scripted ?? {
        body:
          call.method === 'chat.update'
            ? { ok: true, channel: params.channel, ts: params.ts }
            : { ok: true, channel: 'C0THREADS', ts: `1795000000.${String(++messages).padStart(6, '0')}`, message: { text: params.text } },
      };
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

/** A rules folder and a templates folder: `kyc` renders the event's type and subject for Slack and email. */
function writeRouting(dir: string, rules: string): { rulesDir: string; templatesDir: string } {
  const rulesDir = path.join(dir, 'rules');
  const template = path.join(dir, 'templates', 'kyc');
  mkdirSync(rulesDir, { recursive: true });
  mkdirSync(template, { recursive: true });
  writeFileSync(path.join(rulesDir, 'rules.yaml'), rules);
  writeFileSync(path.join(template, 'slack.yaml'), 'text: "{{ event.type }} {{ event.subject }}"\n');
  writeFileSync(path.join(template, 'email.subject.liquid'), '{{ event.type }} {{ event.subject }}');
  writeFileSync(path.join(template, 'email.text.liquid'), 'KYC session {{ event.subject }}: {{ event.type }}\n');
  return { rulesDir, templatesDir: path.join(dir, 'templates') };
}

/** A LegalTalent event of `type` about session `subject`, with an event id of its own. */
function kycEvent(type: string, subject: string, n: number): unknown {
  const sample = loadSample('legaltalent', type) as { id: string; data: Record<string, unknown> };
  return { ...sample, id: `evt_thread_${n}`, data: { ...sample.data, session_id: subject } };
}

describe('threads', function () {
  this.timeout(30_000);
  let dir: string;
  let herald: RunningHerald | undefined;
  let logs: string[];

  beforeEach(() => {
    dir = tempDir('herald-threads-');
    logs = [];
  });
  afterEach(async () => {
    await herald?.close();
    herald = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts herald on this test's SQLite file (so a second start is a restart), logging every line to `logs`. */
  async function start(
    routing: { rulesDir: string; templatesDir: string },
    destinations: Record<string, DestinationConfig>,
    options: StartOptions = {},
  ): Promise<RunningHerald> {
    const config: HeraldConfig = testConfig(`sqlite:${path.join(dir, 'herald.db')}`, { ...routing, destinations });
    const sink = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    herald = await startHerald(loadRouting(config), pino({ level: 'trace' }, sink), options);
    return herald;
  }

  async function send(event: unknown): Promise<void> {
    const { body, headers } = signedRequest(sources.legaltalent, event);
    const response = await fetch(`http://127.0.0.1:${herald!.port}/webhooks/legaltalent`, { method: 'POST', headers, body: new Uint8Array(body) });
    assert.equal(response.status, 200);
  }

  describe('email', () => {
    let smtp: SmtpSink;
    beforeEach(async () => {
      smtp = await startSmtpSink();
    });
    afterEach(async () => {
      // herald first, as in production: it closes its pooled SMTP connection. The other way round,
      // the server waits for that idle connection to go, which takes the client's socket time-out (10 s).
      await herald?.close();
      herald = undefined;
      await smtp.close();
    });

    const mailTo = (name: string, to: string): DestinationConfig => ({
      name,
      type: 'email',
      options: { smtp: smtp.url, from: 'herald <herald@example.com>', to: [to] },
    });

    it('makes every email about one subject to one destination one thread', async () => {
      const routing = writeRouting(dir, '- name: kyc\n  notify:\n    - { to: compliance, template: kyc }\n    - { to: audit, template: kyc }\n');
      await start(routing, { compliance: mailTo('compliance', 'compliance@example.com'), audit: mailTo('audit', 'audit@example.com') });
      // One at a time, so that which is first is known; the second subject comes in between.
      const events = [
        kycEvent('kyc.session.created', 'kyc_sess_A', 1),
        kycEvent('kyc.session.created', 'kyc_sess_B', 2),
        kycEvent('kyc.session.processed', 'kyc_sess_A', 3),
        kycEvent('kyc.session.rejected', 'kyc_sess_A', 4),
      ];
      for (const [i, event] of events.entries()) {
        await send(event);
        await smtp.waitFor(2 * (i + 1));
      }
      const mails = (to: string, subject: string) =>
        smtp.mails.filter((mail) => mail.to !== undefined && !Array.isArray(mail.to) && mail.to.text === to && mail.subject?.endsWith(subject));

      const [first, ...rest] = mails('compliance@example.com', 'kyc_sess_A');
      assert.equal(rest.length, 2);
      assert.match(first!.messageId ?? '', /^<[0-9a-f]{32}\.[0-9a-f-]{36}@herald\.example\.com>$/);
      assert.equal(first!.inReplyTo, undefined);
      for (const reply of rest) {
        assert.notEqual(reply.messageId, first!.messageId, 'each message has an id of its own');
        assert.equal(reply.inReplyTo, first!.messageId);
        assert.deepEqual([reply.references].flat(), [first!.messageId]);
      }

      // Another subject, and the same subject to another destination: threads of their own.
      const [other] = mails('compliance@example.com', 'kyc_sess_B');
      const [audited, ...auditReplies] = mails('audit@example.com', 'kyc_sess_A');
      assert.equal(other!.inReplyTo, undefined);
      assert.equal(audited!.inReplyTo, undefined);
      const ids = new Set([first!.messageId, other!.messageId, audited!.messageId]);
      assert.equal(ids.size, 3);
      assert.deepEqual(
        auditReplies.map((mail) => mail.inReplyTo),
        [audited!.messageId, audited!.messageId],
      );
    });

    it('threads the messages of rules that throttle or group by subject, and not a message about several subjects', async () => {
      const routing = writeRouting(
        dir,
        [
          '- name: throttled',
          '  throttle: { by: [subject], max: 10, per: 1h }',
          '  notify: [{ to: compliance, template: kyc }]',
          '- name: grouped',
          '  group: { by: [subject], wait: 1m, interval: 1m }',
          '  notify: [{ to: audit, template: kyc }]',
          '- name: sweep',
          '  group: { by: [source], wait: 1m, interval: 1m }',
          '  notify: [{ to: sweep, template: kyc }]',
          '',
        ].join('\n'),
      );
      // The stages' clock stands still until the test moves it past a group's wait.
      let clock = Date.now() + 60_000;
      await start(
        routing,
        {
          compliance: mailTo('compliance', 'compliance@example.com'),
          audit: mailTo('audit', 'audit@example.com'),
          sweep: mailTo('sweep', 'sweep@example.com'),
        },
        { stageClock: () => clock },
      );
      const passWait = async (mails: number) => {
        clock += 61_000;
        herald!.batches.wake();
        await smtp.waitFor(mails);
      };
      // The throttle sends each event at once, one at a time so that which is first is known.
      await send(kycEvent('kyc.session.created', 'kyc_sess_A', 1));
      await smtp.waitFor(1);
      await send(kycEvent('kyc.session.created', 'kyc_sess_B', 2));
      await smtp.waitFor(2);
      await send(kycEvent('kyc.session.processed', 'kyc_sess_A', 3));
      await smtp.waitFor(3);
      // The groups: kyc_sess_A (two events) and kyc_sess_B to audit, all three in one message to sweep.
      await passWait(6);
      await send(kycEvent('kyc.session.rejected', 'kyc_sess_A', 4));
      await smtp.waitFor(7);
      await passWait(9);

      const mails = (to: string, subject = '') =>
        smtp.mails.filter((mail) => mail.to !== undefined && !Array.isArray(mail.to) && mail.to.text === to && mail.subject?.endsWith(subject));
      const oneThread = (to: string, subject: string, count: number) => {
        const [first, ...rest] = mails(to, subject);
        assert.equal(1 + rest.length, count, `${count} mails to ${to} about ${subject}`);
        assert.equal(first!.inReplyTo, undefined, `the first mail to ${to} about ${subject} starts the thread`);
        for (const reply of rest) {
          assert.equal(reply.inReplyTo, first!.messageId, `a later mail to ${to} about ${subject} is in its thread`);
          assert.deepEqual([reply.references].flat(), [first!.messageId]);
        }
        return first!.messageId;
      };
      const threads = [
        oneThread('compliance@example.com', 'kyc_sess_A', 3),
        oneThread('compliance@example.com', 'kyc_sess_B', 1),
        oneThread('audit@example.com', 'kyc_sess_A', 2),
        oneThread('audit@example.com', 'kyc_sess_B', 1),
      ];
      assert.equal(new Set(threads).size, 4);
      // A message about several sessions belongs to none of their threads.
      assert.deepEqual(
        mails('sweep@example.com').map((mail) => mail.inReplyTo),
        [undefined, undefined],
      );
    });

    it('does not thread an event without the threadBy attribute, nor with threadBy: false', async () => {
      const routing = writeRouting(
        dir,
        [
          '- name: kyc',
          '  notify:',
          '    - { to: compliance, template: kyc, threadBy: data.customer_reference }',
          '    - { to: audit, template: kyc, threadBy: false }',
          '',
        ].join('\n'),
      );
      await start(routing, { compliance: mailTo('compliance', 'compliance@example.com'), audit: mailTo('audit', 'audit@example.com') });
      const withoutReference = (n: number) => {
        const event = kycEvent('kyc.session.created', 'kyc_sess_C', n) as { data: Record<string, unknown> };
        delete event.data.customer_reference;
        return event;
      };
      await send(withoutReference(5));
      await smtp.waitFor(2);
      await send(withoutReference(6));
      await smtp.waitFor(4);
      assert.deepEqual(
        smtp.mails.map((mail) => mail.inReplyTo),
        [undefined, undefined, undefined, undefined],
      );
    });
  });

  describe('slack-app', () => {
    let api: SlackApi;
    beforeEach(async () => {
      api = await startSlackApi();
    });
    afterEach(async () => {
      await api.close();
    });

    const team = (options: Record<string, unknown> = {}): Record<string, DestinationConfig> => ({
      team: {
        name: 'team',
        type: 'slack-app',
        options: {
          token: TOKEN,
          channel: '#kyc',
          slackApiUrl: `${api.url}/api/`,
          allowPrivateNetwork: true,
          rate: '100/s',
          delivery: { retry: ['100ms', '100ms'] },
          ...options,
        },
      },
    });
    const RULES = [
      '- name: progress',
      '  match: { type: [kyc.session.created, kyc.session.processed] }',
      '  notify: [{ to: team, template: kyc }]',
      '- name: outcome',
      '  match: { type: kyc.session.rejected }',
      '  notify: [{ to: team, template: kyc, broadcast: true, updateParent: true }]',
      '',
    ].join('\n');

    it('starts a thread per subject and replies in it, also after a restart; broadcast and updateParent', async () => {
      const routing = writeRouting(dir, RULES);
      await start(routing, team());
      await send(kycEvent('kyc.session.created', 'kyc_sess_A', 1));
      await waitUntil(() => api.calls.length === 1);
      await send(kycEvent('kyc.session.processed', 'kyc_sess_A', 2));
      await waitUntil(() => api.calls.length === 2);
      await send(kycEvent('kyc.session.created', 'kyc_sess_B', 3));
      await waitUntil(() => api.calls.length === 3);
      await settledDeliveries(herald!.store, 3);

      // A restart: the thread of kyc_sess_A is found in the store.
      await herald!.close();
      await start(routing, team());
      await send(kycEvent('kyc.session.rejected', 'kyc_sess_A', 4));
      await waitUntil(() => api.calls.length === 5);
      await settledDeliveries(herald!.store, 4);

      const [parentA, replyA, parentB, update, outcome] = api.calls;
      assert.deepEqual(
        api.calls.map((call) => call.method),
        ['chat.postMessage', 'chat.postMessage', 'chat.postMessage', 'chat.update', 'chat.postMessage'],
      );
      assert.equal(parentA!.params.channel, '#kyc');
      assert.equal(parentA!.params.text, 'kyc.session.created kyc_sess_A');
      assert.equal(parentA!.params.thread_ts, undefined);
      assert.equal(replyA!.params.thread_ts, '1795000000.000001');
      assert.equal(replyA!.params.reply_broadcast, undefined);
      assert.equal(parentB!.params.thread_ts, undefined, 'another subject starts its own thread');
      // updateParent: the first message, by the channel ID Slack answered with, now shows the outcome.
      const { blocks, ...updated } = update!.params;
      assert.deepEqual(updated, { channel: 'C0THREADS', ts: '1795000000.000001', text: 'kyc.session.rejected kyc_sess_A' });
      assert.equal(blocks, outcome!.params.blocks, 'the same blocks as the reply');
      assert.equal(outcome!.params.thread_ts, '1795000000.000001');
      assert.equal(outcome!.params.reply_broadcast, 'true');
      assert.ok(api.calls.every((call) => call.authorization === `Bearer ${TOKEN}`));
      assert.ok(logs.length > 0);
      assert.ok(
        logs.every((line) => !line.includes(TOKEN) && !line.includes('THREADtoken')),
        'the token is never logged',
      );
    });

    it('retries a 429 after its Retry-After, and dead-letters invalid_auth at once', async () => {
      const routing = writeRouting(dir, RULES);
      api.script = (call, index) => {
        if (index === 0) return { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } };
        if (call.params.text?.includes('kyc_sess_AUTH')) return { body: { ok: false, error: 'invalid_auth' } };
        return undefined;
      };
      // The stages' clock stands still until the test moves it: the retry waits for it, not for real time.
      // A minute ahead, so that a delivery, stamped due at the real time it is made, is due at once.
      let clock = Date.now() + 60_000;
      await start(routing, team(), { stageClock: () => clock });
      await send(kycEvent('kyc.session.created', 'kyc_sess_A', 1));
      let waiting: Delivery | undefined;
      await waitUntil(async () => {
        [waiting] = await herald!.store.listDeliveries();
        return waiting?.attempts === 1;
      });
      const [limited] = await herald!.store.listAttempts(waiting!.id);
      assert.deepEqual([limited!.outcome, limited!.reason, limited!.status], ['retry', 'rate-limited', 429]);
      // Due no sooner than Retry-After (1 s), though the schedule says 100 ms.
      assert.equal(waiting!.status, 'pending');
      assert.ok(waiting!.nextAttemptAt - limited!.startedAt >= 1000, `due ${waiting!.nextAttemptAt - limited!.startedAt} ms after the 429`);
      assert.equal(api.calls.length, 1);
      clock = waiting!.nextAttemptAt;
      herald!.deliver.wake();
      const [delivered] = await settledDeliveries(herald!.store, 1);
      assert.equal(delivered!.status, 'delivered');
      assert.equal(delivered!.attempts, 2);
      const [, sent] = await herald!.store.listAttempts(delivered!.id);
      assert.equal(sent!.startedAt, waiting!.nextAttemptAt, 'retried when due');

      await send(kycEvent('kyc.session.created', 'kyc_sess_AUTH', 2));
      const dead = (await settledDeliveries(herald!.store, 2)).find((d) => d.id !== delivered!.id)!;
      assert.equal(dead.status, 'dead');
      assert.equal(dead.attempts, 1);
      const [refused] = await herald!.store.listAttempts(dead.id);
      assert.equal(refused!.reason, 'auth-error');
      assert.match(refused!.error ?? '', /invalid_auth/);
      for (const text of [refused!.error ?? '', refused!.responseExcerpt ?? '', ...logs]) assert.ok(!text.includes(TOKEN), text);
    });
  });
});
