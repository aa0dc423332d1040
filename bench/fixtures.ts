/**
 * What herald runs on in the bench: a generated config (the FaceSign source,
 * one webhook destination to the sink), generated rule sets with exactly one
 * rule that fires, SQLite files seeded with a backlog of pending deliveries,
 * and a read-only look at the queue while herald runs.
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { normalizeEvent } from '../src/pipeline/events/normalize.js';
import { planNotifications } from '../src/pipeline/stages/route.js';
import { facesign } from '../src/providers/facesign.js';
import { loadSetup } from '../src/app/setup.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { EventRouting } from '../src/store/store.js';
import { BENCH_SECRET, BENCH_SOURCE, benchEventId, HOOK_SECRET, signedRequests } from './common.js';

/** Deliveries in flight at once to the sink: enough that the sink's round trip is not the limit. */
const SINK_CONCURRENCY = 64;
/** Rules that the bench event is a candidate for (same provider and type) but whose `when` fails. */
const NEAR_MISSES = 4;

export interface HeraldSetupFiles {
  dir: string;
  configFile: string;
  dbFile: string;
}

/** Writes `<dir>/herald.config.yaml` (store `<dir>/herald.db`) and `<dir>/rules/` with `ruleCount` rules. */
export function writeHeraldSetup(
  dir: string,
  opts: { port: number; sinkUrl: string; templatesDir: string; ruleCount: number; deliveryThread?: boolean },
): HeraldSetupFiles {
  mkdirSync(path.join(dir, 'rules'), { recursive: true });
  writeFileSync(path.join(dir, 'rules', 'bench.yaml'), benchRules(opts.ruleCount));
  const configFile = path.join(dir, 'herald.config.yaml');
  writeFileSync(
    configFile,
    [
      `server: { port: ${opts.port}, host: 127.0.0.1, shutdownGrace: 20s }`,
      'store: sqlite:./herald.db',
      'rules: ./rules',
      `templates: ${JSON.stringify(opts.templatesDir)}`,
      'sources:',
      `  facesign: { provider: facesign, secrets: ["${BENCH_SECRET}"] }`,
      'destinations:',
      `  hook: { type: webhook, url: "${opts.sinkUrl}/hook", secret: "${HOOK_SECRET}", allowPrivateNetwork: true, concurrency: ${SINK_CONCURRENCY} }`,
      `delivery: { thread: ${opts.deliveryThread !== false} }`,
      '',
    ].join('\n'),
  );
  return { dir, configFile, dbFile: path.join(dir, 'herald.db') };
}

/**
 * `count` rules, one per line: one fires for the bench's FaceSign
 * `session.status` events and sends them to the hook; a few more are
 * candidates for them (same provider and type) whose `when` fails; the rest
 * match other providers and types (exact names, and some `prefix*` globs), so
 * the rule index should never look at them for a bench event.
 */
export function benchRules(count: number): string {
  const notify = [{ to: 'hook', template: 'session-finished' }];
  const rules: object[] = [];
  const nearMisses = Math.min(NEAR_MISSES, count - 1);
  const providers = ['faceio', 'legaltalent', 'owleyes', 'facesign'];
  for (let i = 0; i < count - 1 - nearMisses; i++) {
    const type = i % 50 === 0 ? `bench${i}.*` : `bench.filler.${i}`;
    rules.push({ name: `filler-${i}`, match: { provider: providers[i % providers.length], type }, notify });
  }
  for (let i = 0; i < nearMisses; i++) {
    rules.push({
      name: `near-miss-${i}`,
      match: { provider: 'facesign', type: 'session.status' },
      when: { '==': [{ var: 'subject' }, `nobody-${i}`] },
      notify,
    });
  }
  rules.push({ name: 'bench-to-hook', match: { provider: 'facesign', type: 'session.status' }, notify });
  return rules.map((rule) => `- ${JSON.stringify(rule)}\n`).join('');
}

/**
 * Creates `dbFile` with `count` pending deliveries to the hook, made the way
 * herald makes them: each an event stored through the store and routed by the
 * real rules and templates (one route batch of 100 shares its due time, as in
 * the route stage). Returns how long it took.
 */
export async function seedBacklog(configFile: string, dbFile: string, count: number, tag: string): Promise<number> {
  const started = Date.now();
  const setup = loadSetup(configFile);
  const store = new SqliteStore(dbFile);
  await store.migrate();
  const BATCH = 100;
  const [request] = signedRequests(tag, 1);
  for (let first = 0; first < count; first += BATCH) {
    const size = Math.min(BATCH, count - first);
    const events = Array.from({ length: size }, (_, k) => {
      const id = benchEventId(tag, first + k);
      const payload = { id, type: 'session.status', createdAt: Date.now(), sessionId: `sess_backlog_${first + k}` };
      return normalizeEvent(BENCH_SOURCE, facesign, payload, { body: request!.body, headers: request!.headers }, Date.now());
    });
    await Promise.all(
      events.map((event) => store.insertEvent({ event, dedupeKey: event.providerEventId!, dedupeUntilMs: Date.now() + BENCH_SOURCE.dedupeWindowMs })),
    );
    const routings: EventRouting[] = events.map((event) => ({
      eventId: event.id,
      rulesVersion: setup.routing.rules.version,
      deliveries: planNotifications(event, setup.routing, facesign).map((p) => p.delivery),
    }));
    await store.markRouted(routings);
  }
  await store.close();
  return Date.now() - started;
}

/**
 * Copies the pending deliveries of `dbFile`, with their events, until there
 * are `count`; each copy's ids get a suffix (`<id>.0003`). Seeding a million
 * through the store takes minutes; this takes seconds, and the copies are
 * the same rows herald made.
 */
export function growBacklog(dbFile: string, count: number): void {
  const db = new Database(dbFile);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.exec(`CREATE TEMP TABLE seed_deliveries AS SELECT * FROM deliveries WHERE status = 'pending';
             CREATE TEMP TABLE seed_events AS SELECT * FROM events WHERE id IN (SELECT event_id FROM seed_deliveries);
             UPDATE seed_deliveries SET id = id || '.0000', event_id = event_id || '.0000';
             UPDATE seed_events SET id = id || '.0000';`);
    const seeds = (db.prepare('SELECT COUNT(*) AS n FROM seed_deliveries').get() as { n: number }).n;
    const renumber = (table: string, columns: string[]) =>
      db.prepare(`UPDATE ${table} SET ${columns.map((c) => `${c} = substr(${c}, 1, length(${c}) - 5) || printf('.%04d', @copy)`).join(', ')}`);
    const renumberEvents = renumber('seed_events', ['id']);
    const renumberDeliveries = renumber('seed_deliveries', ['id', 'event_id']);
    const insertEvents = db.prepare('INSERT INTO events SELECT * FROM seed_events');
    const insertDeliveries = db.prepare('INSERT INTO deliveries SELECT * FROM seed_deliveries LIMIT @limit');
    for (let copy = 1, have = seeds; have < count && seeds > 0; copy++, have += seeds) {
      db.transaction(() => {
        renumberEvents.run({ copy });
        renumberDeliveries.run({ copy });
        insertEvents.run();
        insertDeliveries.run({ limit: count - have });
      })();
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** Work herald has not finished (events not yet routed, deliveries still pending), and every event stored. */
export interface QueueDepth {
  unrouted: number;
  pending: number;
  events: number;
}

/** Reads herald's queue from its SQLite file while it runs (WAL: readers never block the writer). */
export class QueueReader {
  private readonly db: Database.Database;
  private readonly query: Database.Statement;

  constructor(dbFile: string) {
    this.db = new Database(dbFile, { readonly: true, fileMustExist: true });
    this.query = this.db.prepare(
      `SELECT (SELECT COUNT(*) FROM events WHERE routed_at IS NULL) AS unrouted,
              (SELECT COUNT(*) FROM deliveries WHERE status = 'pending') AS pending,
              (SELECT COUNT(*) FROM events) AS events`,
    );
  }

  depth(): QueueDepth {
    return this.query.get() as QueueDepth;
  }

  close(): void {
    this.db.close();
  }
}
