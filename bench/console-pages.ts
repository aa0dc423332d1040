/**
 * The console's page times at 100,000 events (issue 19: "load in under 200 ms
 * on this machine with 100,000 events"), measured here and not in the test
 * suite, which must not assert wall-clock times.
 *
 *   npm run build && node dist/bench/console-pages.js [--events N] [--requests N]
 *
 * Seeds a SQLite store the way the main bench does (1,000 events stored and
 * routed through the store, then copied to N; every event has one delivery,
 * one in 50 of them dead), starts `herald serve --no-route --no-deliver` with
 * one admin console user, signs in over HTTP (CSRF token from the login form,
 * its cookie), and times GET of the main pages: median and p95 over
 * `--requests` requests each, one at a time, against the 200 ms target.
 */
import Database from 'better-sqlite3';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../src/core/password-hash.js';
import { PACKAGE_ROOT } from '../src/core/paths.js';
import { growBacklog, seedBacklog, writeHeraldSetup } from './fixtures.js';
import { freePort, startHeraldProcess } from './processes.js';

/** The target for a page, ms. */
const TARGET_MS = 200;
/** Events stored and routed through the store before the copies (fixtures.ts growBacklog). */
const SEEDS = 1000;
const PASSWORD = 'bench-console-password';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '100000' }, requests: { type: 'string', default: '20' } },
});
const EVENTS = Number(args.events);
const REQUESTS = Number(args.requests);

/** The value at quantile `q` (0..1) of `values`, nearest rank. */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Signs in through the login form and returns the session cookie header. */
async function signIn(url: string): Promise<string> {
  const form = await fetch(`${url}/console/login`);
  const loginCookie = form.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('no CSRF token in the login form');
  const reply = await fetch(`${url}/console/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, name: 'bench', password: PASSWORD }).toString(),
  });
  if (reply.status !== 303) throw new Error(`sign-in answered ${reply.status}`);
  const session = reply.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .filter((c) => !/=$/.test(c!));
  return session.join('; ');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-console-bench-'));
  try {
    const port = await freePort();
    const setup = writeHeraldSetup(dir, { port, sinkUrl: 'http://127.0.0.1:9', templatesDir: path.join(PACKAGE_ROOT, 'templates'), ruleCount: 10 });
    const hash = await hashPassword(PASSWORD);
    appendFileSync(setup.configFile, `console: { users: [{ name: bench, passwordHash: ${JSON.stringify(hash)}, role: admin }] }\n`);

    const seedStarted = Date.now();
    await seedBacklog(setup.configFile, setup.dbFile, Math.min(SEEDS, EVENTS), 'console');
    growBacklog(setup.dbFile, EVENTS);
    const db = new Database(setup.dbFile);
    db.exec(`UPDATE deliveries SET status = 'dead', last_error = 'bench: gave up' WHERE rowid % 50 = 0`);
    const count = (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    const middle = db.prepare('SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?').get(Math.floor(count / 2)) as { id: string };
    const sample = db.prepare('SELECT id, subject, type, outcome FROM events ORDER BY id LIMIT 1 OFFSET ?').get(Math.floor(count / 3)) as {
      id: string;
      subject: string;
      type: string;
      outcome: string | null;
    };
    db.close();
    console.log(`seeded ${count} events in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`);
    console.log(`filters: subject ${sample.subject}, type ${sample.type}, outcome ${sample.outcome ?? '(none)'}`);

    const herald = await startHeraldProcess(PACKAGE_ROOT, setup.configFile, port, { flags: ['--no-route', '--no-deliver'] });
    try {
      const cookie = await signIn(herald.url);
      const q = (params: Record<string, string>) => `?${new URLSearchParams(params).toString()}`;
      const pages: Array<[string, string]> = [
        ['events, first page', '/console/events'],
        ['events by subject', `/console/events${q({ subject: sample.subject })}`],
        ['events by type + outcome', `/console/events${q({ type: sample.type, ...(sample.outcome ? { outcome: sample.outcome } : {}) })}`],
        ['events, dead deliveries', `/console/events${q({ delivery: 'dead' })}`],
        ['events, keyset page at 50 %', `/console/events${q({ after: middle.id })}`],
        ['subject timeline', `/console/subjects/${encodeURIComponent(sample.subject)}`],
        ['event', `/console/events/${encodeURIComponent(sample.id)}`],
        ['dead letters', '/console/dead-letters'],
        ['destinations', '/console/destinations'],
        ['audit', '/console/audit'],
      ];
      const rows: string[] = [];
      let missed = 0;
      for (const [name, page] of pages) {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < REQUESTS + 1; i++) {
          const started = performance.now();
          const reply = await fetch(`${herald.url}${page}`, { headers: { cookie }, redirect: 'manual' });
          const body = await reply.text();
          const ms = performance.now() - started;
          if (reply.status !== 200) throw new Error(`${page} answered ${reply.status}`);
          bytes = body.length;
          if (i > 0) times.push(ms); // the first request warms the statement cache
        }
        const p50 = quantile(times, 0.5);
        const p95 = quantile(times, 0.95);
        if (p95 >= TARGET_MS) missed++;
        console.log(`${name}: median ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
        rows.push(`| ${name} | ${p50.toFixed(1)} | ${p95.toFixed(1)} | ${(bytes / 1024).toFixed(0)} | ${p95 < TARGET_MS ? 'yes' : '**no**'} |`);
      }
      console.log(`\nconsole pages at ${count} events, ${REQUESTS} requests each, load average ${os.loadavg()[0]!.toFixed(2)} (${os.cpus().length} CPUs)\n`);
      console.log(`| page | median ms | p95 ms | KiB | p95 under ${TARGET_MS} ms |`);
      console.log('|---|---:|---:|---:|---|');
      for (const row of rows) console.log(row);
      console.log(missed === 0 ? `\nevery page under ${TARGET_MS} ms at p95` : `\n${missed} page(s) over ${TARGET_MS} ms at p95`);
    } finally {
      await herald.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
