/**
 * The operations commands, run as a user would, directly on a stopped
 * herald's SQLite store: `herald replay` over 5,000 events (with progress, and
 * as a dry run), `herald dlq list|retry`, and `herald events list|show`.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { cliActor } from '../../src/cli/ops/actor.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import type { Delivery, NewDelivery } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { runHerald } from '../helpers/cli.js';
import { SHIPPED_TEMPLATES_DIR } from '../helpers/config.js';
import { tempDir } from '../helpers/herald.js';
import { writeHookConfig } from '../helpers/herald-process.js';
import { event } from '../store/contract.js';

const RECENT = 5000;
const SINCE = '2025-01-01T00:00:00Z';

describe('herald events, dlq and replay (on the store)', function () {
  this.timeout(120_000);
  let dir: string;
  let config: string;
  let dbFile: string;
  const old = { eventId: '', deliveryId: '' };

  /** Opens the store, runs `read`, closes it (the commands own it meanwhile). */
  async function withStore<T>(read: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = new SqliteStore(dbFile);
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  }
  const deliveries = () => withStore((store) => store.listDeliveries({ limit: 100_000 }));

  before(async () => {
    dir = tempDir();
    config = writeHookConfig(dir, 0, 'http://127.0.0.1:9');
    dbFile = path.join(dir, 'herald.db');
    await withStore(async (store) => {
      await store.migrate();
      // One old event, routed before with a dead letter: outside --since.
      const early = event('facesign', { receivedAt: '2020-01-01T00:00:00.000Z', subject: 'sess_old' });
      await store.insertEvent({ event: early, dedupeKey: early.id, dedupeUntilMs: Date.now() + 60_000 });
      const dead: NewDelivery = {
        id: early.id.replace(/.$/, '0'),
        rule: 'everything-to-hook',
        destination: 'hook',
        template: 'session-finished',
        status: 'dead',
        message: { channel: 'webhook', body: { hello: 'world' }, contentType: 'application/json' },
        error: 'client-error: 400',
      };
      await store.markRouted([{ eventId: early.id, rulesVersion: 'v0', deliveries: [dead] }]);
      Object.assign(old, { eventId: early.id, deliveryId: dead.id });
      // 5,000 recent events, routed when no rule matched: replay gives each one delivery.
      const recent = Array.from({ length: RECENT }, () => event('facesign'));
      await Promise.all(recent.map((e) => store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 })));
      await store.markRouted(recent.map((e) => ({ eventId: e.id, rulesVersion: 'v0', deliveries: [] })));
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replay --dry-run counts what would be sent over 5,000 events and creates nothing', async () => {
    const result = await runHerald(['--config', config, 'replay', '--since', SINCE, '--dry-run', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      dryRun: true,
      events: RECENT,
      deliveries: RECENT,
      byRule: { 'everything-to-hook': RECENT },
      batched: 0,
      batchedByRule: {},
      notRouted: 0,
    });
    assert.equal(result.stderr, '', 'no progress bar when stderr is not a terminal');
    assert.equal((await deliveries()).length, 1, 'only the old dead letter');
  });

  it('replay over 5,000 events shows progress and creates their deliveries, keeping the old ones', async () => {
    // A process of its own: the progress bar writes to a real pipe, and the command exits when done.
    const result = await runHerald(['--config', config, 'replay', '--since', SINCE, '--progress'], {}, { process: true });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /replaying \[.*\] 100% \| 5000\/5000 events \| 5000 deliveries/);
    assert.match(result.stdout, /^5000 events replayed: 5000 deliveries created\n/);
    assert.match(result.stdout, /everything-to-hook\s+5000/);
    const all = await deliveries();
    const created = all.filter((d: Delivery) => d.status === 'pending');
    assert.equal(created.length, RECENT);
    assert.equal(new Set(created.map((d) => d.eventId)).size, RECENT, 'one per event');
    assert.ok(created.every((d) => d.destination === 'hook' && d.message !== null));
    assert.ok(
      all.some((d) => d.id === old.deliveryId && d.status === 'dead'),
      'the old delivery is kept',
    );
  });

  it('replay refuses an unknown rule and a bad time', async () => {
    const rule = await runHerald(['--config', config, 'replay', '--since', SINCE, '--rule', 'nope']);
    assert.equal(rule.code, 1);
    assert.match(rule.stderr, /no rule "nope"/);
    const time = await runHerald(['--config', config, 'replay', '--since', 'last tuesday']);
    assert.equal(time.code, 1);
    assert.match(time.stderr, /--since takes a time/);
  });

  it('dlq list shows dead letters as a table and as JSON; dlq retry makes them pending', async () => {
    const table = await runHerald(['--config', config, 'dlq', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+EVENT\s+RULE\s+DESTINATION\s+ATTEMPTS\s+DIED\s+LAST ERROR\n/);
    assert.ok(table.stdout.includes(old.deliveryId));
    const json = await runHerald(['--config', config, 'dlq', 'list', '--destination', 'hook', '--json']);
    const listed = JSON.parse(json.stdout) as { deadLetters: Delivery[]; nextCursor: string | null };
    assert.deepEqual(
      listed.deadLetters.map((d) => d.id),
      [old.deliveryId],
    );
    assert.equal(listed.nextCursor, null);

    const none = await runHerald(['--config', config, 'dlq', 'retry', '--rule', 'another', '--json']);
    assert.deepEqual(JSON.parse(none.stdout), { retried: 0 });
    const retried = await runHerald(['--config', config, 'dlq', 'retry', '--destination', 'hook']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /^1 dead delivery made pending/);
    const again = await runHerald(['--config', config, 'dlq', 'retry', old.deliveryId]);
    assert.equal(again.code, 0, 'a pending delivery can be made due now');
    const unknown = await runHerald(['--config', config, 'dlq', 'retry', 'no-such-delivery']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no delivery no-such-delivery/); // Audited like the admin API and the console, in the name of the user on this machine.
    const audit = (await withStore((store) => store.listAudit({ limit: 1000 }))).filter((e) => e.action.endsWith('retry'));
    assert.ok(audit.every((e) => e.actor === cliActor() && e.detail?.host === hostname()));
    assert.deepEqual(
      audit.map((e) => [e.action, e.target, e.detail?.via]),
      [
        ['dead-letters.retry', 'another', 'cli'],
        ['dead-letters.retry', 'hook', 'cli'],
        ['delivery.retry', old.deliveryId, 'cli'],
        ['delivery.retry', 'no-such-delivery', 'cli'],
      ],
    );
  });

  it('events list filters and pages; events show prints the deliveries', async () => {
    const page = await runHerald(['--config', config, 'events', 'list', '--subject', 'sess_old', '--json']);
    assert.equal(page.code, 0, page.stderr);
    assert.deepEqual(
      (JSON.parse(page.stdout) as { events: Array<{ id: string }> }).events.map((e) => e.id),
      [old.eventId],
    );
    const first = JSON.parse((await runHerald(['--config', config, 'events', 'list', '--limit', '2', '--json'])).stdout) as {
      events: Array<{ id: string }>;
      nextCursor: string;
    };
    assert.equal(first.events.length, 2);
    const second = await runHerald(['--config', config, 'events', 'list', '--limit', '2', '--after', first.nextCursor]);
    assert.match(second.stdout, /^ID\s+RECEIVED\s+SOURCE\s+TYPE\s+OUTCOME\s+SUBJECT\n/);
    assert.match(second.stdout, /more: --after \S+\n$/);
    const bad = await runHerald(['--config', config, 'events', 'list', '--limit', '0']);
    assert.equal(bad.code, 1);

    const show = await runHerald(['--config', config, 'events', 'show', old.eventId]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`delivery ${old.deliveryId}  rule everything-to-hook -> hook  pending`));
    const json = JSON.parse((await runHerald(['--config', config, 'events', 'show', old.eventId, '--json'])).stdout) as { matchedRules: string[] };
    assert.deepEqual(json.matchedRules, ['everything-to-hook']);
    const missing = await runHerald(['--config', config, 'events', 'show', 'nope']);
    assert.equal(missing.code, 1);
  });
});

describe('herald replay of events of a rule that batches (on the store)', function () {
  this.timeout(30_000);
  let dir: string;
  let config: string;
  const t0 = Date.parse('2026-03-02T10:00:00Z');
  const ids: string[] = [];

  before(async () => {
    dir = tempDir();
    const rules = path.join(dir, 'rules');
    mkdirSync(rules);
    writeFileSync(
      path.join(rules, 'rules.yaml'),
      `- name: per-session
  group: { by: [subject], wait: 30s, interval: 5m }
  notify: [{ to: hook, template: group-summary }]
- name: each
  notify: [{ to: hook, template: session-finished }]
- name: also
  notify: [{ to: hook, template: session-finished }]
`,
    );
    const templates = path.join(dir, 'templates');
    cpSync(path.join(PACKAGE_ROOT, 'test/fixtures/batching/templates/group-summary'), path.join(templates, 'group-summary'), { recursive: true });
    cpSync(path.join(SHIPPED_TEMPLATES_DIR, 'session-finished'), path.join(templates, 'session-finished'), { recursive: true });
    config = writeHookConfig(dir, 0, 'http://127.0.0.1:9');
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace(/^rules: .*$/m, `rules: ${JSON.stringify(rules)}`)
        .replace(/^templates: .*$/m, `templates: ${JSON.stringify(templates)}`),
    );
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      await store.migrate();
      // Two events of one session, routed when no rule matched.
      for (const subject of ['sess_a', 'sess_a']) {
        const e = event('facesign', { subject, receivedAt: new Date(t0).toISOString() });
        await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v0', deliveries: [] }]);
        ids.push(e.id);
      }
    } finally {
      await store.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the events added to batches apart from deliveries, stores nothing on a dry run, and adds them to their group', async () => {
    const dry = await runHerald(['--config', config, 'replay', '--since', SINCE, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^2 events checked: 4 deliveries would be created, 2 would be added to batches \(sent with their next message\) \(dry run: nothing stored\)\n/,
    );
    assert.match(dry.stdout, /RULE\s+DELIVERIES\s+BATCHED\nalso\s+2\s+0\neach\s+2\s+0\nper-session\s+0\s+2\n/);
    // --rule repeated: two rules of the three, one that batches.
    const two = await runHerald(['--config', config, 'replay', '--since', SINCE, '--rule', 'per-session', '--rule', 'each', '--dry-run', '--json']);
    assert.equal(two.code, 0, two.stderr);
    assert.deepEqual(JSON.parse(two.stdout), {
      dryRun: true,
      events: 2,
      deliveries: 2,
      byRule: { each: 2 },
      batched: 2,
      batchedByRule: { 'per-session': 2 },
      notRouted: 0,
    });
    const unknown = await runHerald(['--config', config, 'replay', '--since', SINCE, '--rule', 'each', '--rule', 'nope', '--dry-run']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no rule "nope"/);
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      assert.equal(await store.nextBatchDueAt(), undefined, 'a dry run stores nothing');
    } finally {
      await store.close();
    }

    const replayed = await runHerald(['--config', config, 'replay', '--since', SINCE, '--rule', 'per-session', '--json']);
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.deepEqual(JSON.parse(replayed.stdout), {
      dryRun: false,
      events: 2,
      deliveries: 0,
      byRule: {},
      batched: 2,
      batchedByRule: { 'per-session': 2 },
      notRouted: 0,
    });
    const after = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      const [group] = await after.claimDueBatches({ limit: 10, claimant: 'test', claimTtlMs: 60_000, now: Date.now() + 60_000 });
      assert.equal(group?.rule, 'per-session');
      assert.equal(group?.keyLabel, 'sess_a');
      assert.deepEqual(group?.eventIds, ids, 'both events, in their one group');
      assert.deepEqual(await after.listDeliveries(), [], 'no delivery of their own');
    } finally {
      await after.close();
    }
  });
});
