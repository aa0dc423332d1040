/**
 * What a person sees when a command cannot do its job: one line on stderr,
 * `herald: ...`, no stack trace, and the exit code the README documents.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { EXIT } from '../../src/cli/exit.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { freePort, runHerald, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';
import { connectTestDatabase, testPostgresUrl } from '../helpers/postgres.js';

const SHIPPED_CONFIG = path.join(PACKAGE_ROOT, 'herald.config.yaml');
const EXAMPLE_ENV = parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8'));

/** Exactly one line, `herald: ...`, matching `pattern`, and the exit code. */
function assertOneLine(result: CliResult, exitCode: number, pattern: RegExp): void {
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, /^herald: /);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.match(lines[0]!, pattern);
  assert.equal(result.code, exitCode, result.stderr);
}

describe('herald CLI: failures people can act on', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints its version', async () => {
    const result = await runHerald(['--version']);
    const { version } = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), version);
  });

  describe('herald serve', () => {
    it('names server.port and PORT when the port is in use, exit 4', async () => {
      const taken = net.createServer().listen(0, '127.0.0.1');
      await once(taken, 'listening');
      const port = (taken.address() as net.AddressInfo).port;
      try {
        const result = await runHerald(['--config', SHIPPED_CONFIG, 'serve'], {
          ...EXAMPLE_ENV,
          PORT: String(port),
          HERALD_STORE: `sqlite:${path.join(dir, 'herald.db')}`,
        });
        assertOneLine(result, EXIT.network, new RegExp(`:${port}: the port is in use.*server\\.port.*PORT`));
      } finally {
        taken.close();
      }
    });

    it('names the SQLite path that cannot be created, exit 3', async () => {
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'serve'], { ...EXAMPLE_ENV, HERALD_STORE: 'sqlite:/dev/null/x/herald.db' });
      assertOneLine(result, EXIT.store, /cannot create the SQLite store at \/dev\/null\/x\/herald\.db \(ENOTDIR\)/);
    });

    it('names PostgreSQL host and port, never the password, when it is unreachable, exit 3', async () => {
      const port = await freePort();
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'serve'], {
        ...EXAMPLE_ENV,
        PORT: String(await freePort()),
        HERALD_STORE: `postgres://herald:pw-never-shown-4Kx@127.0.0.1:${port}/herald`,
      });
      assertOneLine(result, EXIT.store, new RegExp(`cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}/herald`));
      assert.doesNotMatch(result.stderr + result.stdout, /pw-never-shown-4Kx/);
    });
  });

  describe('herald send', () => {
    it('says no herald answers when none runs, exit 4', async () => {
      const url = `http://127.0.0.1:${await freePort()}/webhooks/facesign`;
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', '--sample', 'session.status', '--url', url], EXAMPLE_ENV);
      assertOneLine(result, EXIT.network, /no herald answers at http:\/\/127\.0\.0\.1:[0-9]+ \(ECONNREFUSED\)/);
    });

    it('names a payload file that does not exist, exit 2', async () => {
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', path.join(dir, 'nope.json')], EXAMPLE_ENV);
      assertOneLine(result, EXIT.input, /cannot read the payload file .*nope\.json \(ENOENT\)/);
    });

    it('names a payload file that is not JSON, exit 2', async () => {
      const file = path.join(dir, 'broken.json');
      writeFileSync(file, '{"id": ');
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', file], EXAMPLE_ENV);
      assertOneLine(result, EXIT.input, /the payload file .*broken\.json is not JSON/);
    });

    it('lists the samples there are for an unknown one, exit 2', async () => {
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', '--sample', 'session.nope'], EXAMPLE_ENV);
      assertOneLine(result, EXIT.input, /no sample of type "session\.nope" for facesign; samples exist for: .*session\.status/);
    });
  });

  describe('commands on the store', () => {
    it('never create a SQLite store: a mistyped path says there is no such store, exit 3', async () => {
      const file = path.join(dir, 'dta', 'herald.db');
      for (const args of [
        ['events', 'list'],
        ['dlq', 'list'],
        ['events', 'show', '019a9c1e-7b2e-7c41-9a57-2f4d1c0e8b11'],
      ]) {
        const result = await runHerald(['--config', SHIPPED_CONFIG, ...args], { HERALD_STORE: `sqlite:${file}` });
        assertOneLine(result, EXIT.store, /there is no store at .*dta\/herald\.db/);
      }
      assert.equal(existsSync(path.dirname(file)), false, 'nothing was created');
    });

    it('never create or migrate a PostgreSQL schema: an empty one says there is no herald store, exit 3', async () => {
      const schema = `herald_test_absent_${process.pid}`;
      const url = new URL(testPostgresUrl());
      url.searchParams.set('schema', schema);
      // A process of its own: it also shows the command closes its PostgreSQL connections and exits.
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'events', 'list'], { HERALD_STORE: url.toString() }, { process: true });
      assertOneLine(result, EXIT.store, /there is no herald store in PostgreSQL at .*herald migrate/);
      const client = await connectTestDatabase();
      try {
        const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
        assert.equal(found.rowCount, 0, 'the schema was not created');
      } finally {
        await client.end();
      }
    });

    it('say an old schema needs herald migrate instead of migrating it, exit 3', async () => {
      const file = path.join(dir, 'herald.db');
      const migrated = await runHerald(['--config', SHIPPED_CONFIG, 'migrate'], { HERALD_STORE: `sqlite:${file}` });
      assert.equal(migrated.code, 0, migrated.stderr);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(file);
      const latest = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
      db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(latest);
      db.close();
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'events', 'list'], { HERALD_STORE: `sqlite:${file}` });
      assertOneLine(result, EXIT.store, new RegExp(`schema version ${latest - 1}, this herald needs ${latest}: run herald migrate`));
    });

    it("need only the store setting, not the webhook secrets (replay: not the sources' secrets)", async () => {
      const store = `sqlite:${path.join(dir, 'herald.db')}`;
      assert.equal((await runHerald(['--config', SHIPPED_CONFIG, 'migrate'], { HERALD_STORE: store })).code, 0);
      // Only the destinations' settings: the sources' secrets are unset.
      const destinationsOnly = Object.fromEntries(
        Object.entries(EXAMPLE_ENV).filter(([name]) => !/WEBHOOK_(SECRET|TOKEN)$/.test(name) || name.startsWith('CRM')),
      );
      for (const args of [
        ['events', 'list'],
        ['dlq', 'list'],
        ['dlq', 'retry'],
      ]) {
        const result = await runHerald(['--config', SHIPPED_CONFIG, ...args], { HERALD_STORE: store });
        assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
      }
      const replay = await runHerald(['--config', SHIPPED_CONFIG, 'replay', '--since', '1h'], { ...destinationsOnly, HERALD_STORE: store });
      assert.equal(replay.code, 0, replay.stderr);
      // A command that receives webhooks still needs them all.
      const send = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', '--sample', 'session.status'], { HERALD_STORE: store });
      assert.equal(send.code, 1);
      assert.match(send.stderr, /FACESIGN_WEBHOOK_SECRET is not set/);
    });
  });

  describe('herald check', () => {
    it('reports rule errors in the same run as the config schema errors', async () => {
      const rules = path.join(dir, 'rules');
      const config = path.join(dir, 'herald.config.yaml');
      writeFileSync(
        config,
        [
          'server: { port: "eighty" }',
          `templates: ${path.join(PACKAGE_ROOT, 'templates')}`,
          'sources:',
          '  kyc: { provider: legaltalent, secrets: ["a-secret"] }',
          'destinations:',
          '  team: { type: slack, url: "https://hooks.slack.com/services/T/B/x" }',
          '',
        ].join('\n'),
      );
      const { mkdirSync } = await import('node:fs');
      mkdirSync(rules);
      writeFileSync(
        path.join(rules, 'a.yaml'),
        ['- name: r', '  match: { provider: legaltalent }', '  when: { "no_such_op": [1] }', '  notify: [{ to: nobody, template: kyc-rejected }]', ''].join(
          '\n',
        ),
      );
      const result = await runHerald(['--config', config, 'check']);
      assert.equal(result.code, EXIT.failed);
      assert.match(result.stderr, /3 configuration errors/);
      assert.match(result.stderr, /server\.port/);
      assert.match(result.stderr, /a\.yaml:3:\d+ \[0\]\.when\.no_such_op: unknown JSON-logic operator/);
      assert.match(result.stderr, /a\.yaml:4:\d+ \[0\]\.notify\[0\]\.to: unknown destination "nobody"/);
    });
  });
});
