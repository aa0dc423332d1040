/**
 * Values from signed events and from receivers reach an operator's terminal
 * through the CLI's human output. Written raw, `ESC ] 0 ; … BEL` retitles the
 * terminal, `ESC [ 2 J` clears it and `\r\n` starts a forged row. Every human
 * output shows them written out, on the value's own line; `--json` is exact.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NewDelivery } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runHerald } from '../helpers/cli.js';
import { startHttpSink } from '../helpers/sinks.js';
import { tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { event } from '../store/contract.js';

const FORGED_ROW = 'evt_fake  2026-01-01T00:00:00.000Z  facesign  session.status  approved  sess_fake';
const HOSTILE = `sess_1\u001b]0;pwned\u0007\u001b[2J\r\n${FORGED_ROW}\u009b31m\u202e`;
const SHOWN = `sess_1\\u001b]0;pwned\\u0007\\u001b[2J\\r\\n${FORGED_ROW}\\u009b31m\\u202e`;
const RECEIVER_ERROR = `client-error: 400 \u001b[2J\rall good\nfake line`;

/** A character that acts on a terminal: every C0 control but line feed, DEL, C1, and direction overrides. */
const ACTS_ON_TERMINAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('CLI human output writes no control character from event data', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  const ids = { event: '', delivery: '' };

  before(async () => {
    dir = tempDir();
    config = writeHookConfig(dir, 0, 'http://127.0.0.1:9');
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      await store.migrate();
      const hostile = event('facesign', { subject: HOSTILE, outcome: 'rejected' });
      await store.insertEvent({ event: hostile, dedupeKey: hostile.id, dedupeUntilMs: Date.now() + 60_000 });
      const dead: NewDelivery = {
        id: hostile.id.replace(/.$/, '0'),
        rule: 'everything-to-hook',
        destination: 'hook',
        template: 'session-finished',
        status: 'dead',
        message: { channel: 'webhook', body: { hello: 'world' }, contentType: 'application/json' },
        error: RECEIVER_ERROR,
      };
      await store.markRouted([{ eventId: hostile.id, rulesVersion: 'v0', deliveries: [dead] }]);
      Object.assign(ids, { event: hostile.id, delivery: dead.id });
    } finally {
      await store.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const herald = async (...args: string[]) => {
    const result = await runHerald(['--config', config, ...args]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout;
  };

  it('events list: the subject written out in its cell, no forged row; --json exact', async () => {
    const table = await herald('events', 'list');
    assert.doesNotMatch(table, ACTS_ON_TERMINAL);
    const lines = table.trimEnd().split('\n');
    assert.equal(lines.length, 2, 'the header and the one event');
    assert.ok(lines[1]!.startsWith(ids.event) && lines[1]!.endsWith(SHOWN), lines[1]);
    const json = JSON.parse(await herald('events', 'list', '--json')) as { events: Array<{ subject: string }> };
    assert.equal(json.events[0]!.subject, HOSTILE);
  });

  it('events show: the subject and the receiver’s error written out; --json exact', async () => {
    const shown = await herald('events', 'show', ids.event);
    assert.doesNotMatch(shown, ACTS_ON_TERMINAL);
    assert.ok(shown.startsWith(`${ids.event}  facesign  session.status  outcome rejected  subject ${SHOWN}  received `));
    assert.match(shown, /last error: client-error: 400 \\u001b\[2J\\rall good\\nfake line\n/);
    assert.equal(shown.split('\n').filter((line) => line.includes('fake')).length, 2, 'each value on its own line');
    const json = JSON.parse(await herald('events', 'show', ids.event, '--json')) as { event: { subject: string } };
    assert.equal(json.event.subject, HOSTILE);
  });

  it('dlq list: the last error written out in its cell; --json exact', async () => {
    const table = await herald('dlq', 'list');
    assert.doesNotMatch(table, ACTS_ON_TERMINAL);
    assert.equal(table.trimEnd().split('\n').length, 2);
    assert.ok(table.includes('client-error: 400 \\u001b[2J\\rall good\\nfake line'));
    const json = JSON.parse(await herald('dlq', 'list', '--json')) as { deadLetters: Array<{ lastError: string }> };
    assert.equal(json.deadLetters[0]!.lastError, RECEIVER_ERROR);
  });

  it('rules test: the event line and every message written out; --json exact', async () => {
    const file = path.join(dir, 'hostile-event.json');
    writeFileSync(file, JSON.stringify(event('facesign', { subject: HOSTILE, type: `session.status\u001b[2J` })));
    const report = await herald('rules', 'test', file);
    assert.doesNotMatch(report, ACTS_ON_TERMINAL);
    assert.ok(report.startsWith(`Event: facesign (facesign) session.status\\u001b[2J: category verification, outcome none, subject ${SHOWN}\n`), report);
    const json = JSON.parse(await herald('rules', 'test', file, '--json')) as { event: { subject: string } };
    assert.equal(json.event.subject, HOSTILE);
  });

  it('send: what answered is written out, whoever it was', async () => {
    const impostor = await startHttpSink(() => ({ status: 200, body: HOSTILE }));
    try {
      const result = await runHerald(['--config', config, 'send', 'facesign', '--sample', 'session.status', '--url', `${impostor.url}/webhooks/facesign`]);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stdout, ACTS_ON_TERMINAL);
      assert.ok(result.stdout.includes(SHOWN), result.stdout);
    } finally {
      await impostor.close();
    }
  });
});
