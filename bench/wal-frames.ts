/**
 * What one group commit of ingest writes to the WAL (issue 20): WAL frames
 * (one per page changed) and bytes per event, for a batch of the bench's
 * signed FaceSign events stored through `Ingest.receive`, with herald's
 * schema as it is and with each secondary index of the event tables dropped
 * in turn. Counts, not times: the same on a busy machine as on an idle one.
 *
 *   npm run bench:frames [-- --batch 16 --commits 20]
 *
 * The WAL is emptied (a TRUNCATE checkpoint) after warm-up commits, and its
 * size read after the measured ones; they stay under SQLite's automatic
 * checkpoint (1,000 frames), so the file only grows meanwhile.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Ingest } from '../src/pipeline/stages/ingest.js';
import { PROVIDERS } from '../src/providers/registry.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { BENCH_SOURCE, signedRequests } from './common.js';

/** The secondary indexes an event's insert updates (src/store/sqlite/migrations.ts). */
export const EVENT_INDEXES = [
  'events_source',
  'events_unrouted',
  'events_received',
  'events_subject',
  'events_type',
  'events_outcome',
  'event_dedupe_expires',
] as const;

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
const WARMUP_COMMITS = 5;
/** SQLite's automatic checkpoint, which would start the WAL over. */
const AUTOCHECKPOINT_FRAMES = 1000;

export interface WalFrames {
  framesPerCommit: number;
  bytesPerEvent: number;
}

/** Stores `commits` batches of `batch` events, each batch one group commit, without the indexes in `drop`. */
export async function walFrames({ batch, commits, drop = [] }: { batch: number; commits: number; drop?: readonly string[] }): Promise<WalFrames> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-frames-'));
  const file = path.join(dir, 'herald.db');
  const store = new SqliteStore(file);
  const admin = new Database(file);
  try {
    await store.migrate();
    for (const index of drop) admin.exec(`DROP INDEX ${index}`);
    const ingest = new Ingest({ sources: () => ({ facesign: BENCH_SOURCE }), providers: PROVIDERS, store });
    const requests = signedRequests(`f${Date.now().toString(36)}`, (WARMUP_COMMITS + commits) * batch);
    // One batch at a time, all of it queued in one turn: one group commit each.
    const storeBatch = (n: number) =>
      Promise.all(requests.slice(n * batch, (n + 1) * batch).map(({ body, headers }) => ingest.receive('facesign', { body, headers })));
    for (let n = 0; n < WARMUP_COMMITS; n++) await storeBatch(n);
    admin.pragma('wal_checkpoint(TRUNCATE)');
    for (let n = WARMUP_COMMITS; n < WARMUP_COMMITS + commits; n++) await storeBatch(n);
    const pageSize = admin.pragma('page_size', { simple: true }) as number;
    const frames = (statSync(`${file}-wal`).size - WAL_HEADER_BYTES) / (pageSize + FRAME_HEADER_BYTES);
    if (frames >= AUTOCHECKPOINT_FRAMES) throw new Error(`${frames} frames: SQLite may have checkpointed meanwhile; measure fewer commits`);
    return { framesPerCommit: frames / commits, bytesPerEvent: (frames * (pageSize + FRAME_HEADER_BYTES)) / (commits * batch) };
  } finally {
    admin.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({ options: { batch: { type: 'string', default: '16' }, commits: { type: 'string', default: '20' } } });
  const batch = Number(args.batch);
  const commits = Number(args.commits);
  const row = (label: string, { framesPerCommit, bytesPerEvent }: WalFrames) =>
    console.log(`| ${label} | ${framesPerCommit.toFixed(1)} | ${Math.round(bytesPerEvent).toLocaleString('en-US')} |`);
  console.log(`Ingest of ${batch} events per group commit, ${commits} commits:\n`);
  console.log('| schema | WAL frames per commit | WAL bytes per event |\n|---|---|---|');
  row('as shipped', await walFrames({ batch, commits }));
  for (const index of EVENT_INDEXES) row(`without ${index}`, await walFrames({ batch, commits, drop: [index] }));
  row('without all seven', await walFrames({ batch, commits, drop: EVENT_INDEXES }));
}

// Run as a script (npm run bench:frames), not when a test imports walFrames.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
