/**
 * Where ingest's gap to bare Koa is (issue 20): one Koa app, measured rung by
 * rung with wrk (32 connections, the bench's signed FaceSign events), each
 * rung adding one part of what herald does before it answers a webhook:
 *
 * - bare: reads the body and answers;
 * - plain: parses the body and stores it durably in a one-column table, with
 *   herald's group commit and WAL fsync (the cost of a durable answer alone);
 * - store: `SqliteStore.insertEvent` of the event `normalizeEvent` makes from
 *   the body, without any check (no signature, no schema): herald's schema,
 *   its indexes and dedupe key, the checkpoint thread;
 * - ingest: `Ingest.receive`: verify, parse, validate, normalize, store.
 *
 * `herald serve` itself is the main bench's scenario 1 (`npm run bench -- --only 1`).
 *
 *   npm run bench:ladder [-- --rounds N --seconds S]
 *
 * Rounds alternate the rungs, and the table gives every run: the machine's
 * speed drifts between neighbouring runs (bench/RESULTS.md).
 */
import Database from 'better-sqlite3';
import Koa from 'koa';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import getRawBody from 'raw-body';
import { SERVE_NODE_FLAGS } from '../src/core/heap.js';
import { normalizeEvent } from '../src/pipeline/events/normalize.js';
import { Ingest } from '../src/pipeline/stages/ingest.js';
import { PROVIDERS } from '../src/providers/registry.js';
import { GroupCommit } from '../src/store/sqlite/group-commit.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { WalSync } from '../src/store/sqlite/wal-sync.js';
import { BENCH_SOURCE, signedRequests, type SignedRequest } from './common.js';
import { freePort } from './processes.js';
import { findWrk, runWrk, WRK_INSTALL } from './wrk.js';

const RUNGS = ['bare', 'plain', 'store', 'ingest'] as const;
type Rung = (typeof RUNGS)[number];
const CONNECTIONS = 32;
const WARMUP_S = 2;
/** Distinct signed events per run: more than the fastest rung answers. */
const POOL_SIZE = 400_000;

/** The server of one rung, in a process of its own; tells its parent when it listens. */
async function serveRung(rung: Rung, port: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-ladder-'));
  process.on('disconnect', () => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  const store = new SqliteStore(path.join(dir, 'herald.db'));
  await store.migrate();
  await store.startServing();
  const plainFile = path.join(dir, 'plain.db');
  const plain = new Database(plainFile);
  plain.pragma('journal_mode = WAL');
  plain.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  const plainCommit = new GroupCommit(plain, new WalSync(plainFile));
  const plainInsert = plain.prepare('INSERT INTO events (body) VALUES (?)');
  const ingest = new Ingest({ sources: () => ({ facesign: BENCH_SOURCE }), providers: PROVIDERS, store });

  const app = new Koa();
  app.use(async (ctx) => {
    const body = await getRawBody(ctx.req, { limit: 256 * 1024 });
    if (rung === 'plain') {
      const text = JSON.stringify(JSON.parse(body.toString('utf8')));
      await plainCommit.write(() => plainInsert.run(text));
    } else if (rung === 'store') {
      const payload = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      const req = { body, headers: ctx.req.headers };
      const event = normalizeEvent(BENCH_SOURCE, PROVIDERS.facesign, payload, req, Date.now());
      await store.insertEvent({ event, dedupeKey: PROVIDERS.facesign.dedupeKey(payload, req), dedupeUntilMs: Date.now() + 86_400_000 });
    } else if (rung === 'ingest') {
      await ingest.receive('facesign', { body, headers: ctx.req.headers });
    }
    ctx.body = { status: 'accepted' };
  });
  app.listen(port, '127.0.0.1', () => process.send!('listening'));
}

/** One round's signed events: every rung's server starts with an empty store, so the rungs of a round share them. */
interface Pools {
  tag: string;
  warmup: SignedRequest[];
  timed: SignedRequest[];
}

function signPools(): Pools {
  // Signed per round, not once: a round takes about a minute, and the signatures' timestamps must stay within the tolerance.
  const tag = `l${Date.now().toString(36)}`;
  return { tag, warmup: signedRequests(`${tag}w`, POOL_SIZE / 4), timed: signedRequests(tag, POOL_SIZE) };
}

async function measure(rung: Rung, wrk: string, seconds: number, pools: Pools): Promise<number> {
  const port = await freePort();
  const server = fork(fileURLToPath(import.meta.url), ['--serve', rung, '--port', String(port)], { execArgv: [...SERVE_NODE_FLAGS] });
  await once(server, 'message');
  try {
    const job = (durationS: number, tag: string) =>
      ({
        kind: 'closed',
        url: `http://127.0.0.1:${port}/webhooks/facesign`,
        connections: CONNECTIONS,
        durationS,
        tag,
        poolSize: POOL_SIZE,
        generator: { kind: 'wrk', path: wrk, threads: 1 },
      }) as const;
    await runWrk(wrk, job(WARMUP_S, `${pools.tag}w`), pools.warmup);
    const result = await runWrk(wrk, job(seconds, pools.tag), pools.timed);
    if (result.failed > 0) throw new Error(`${rung}: ${result.failed} requests failed`);
    return result.rps;
  } finally {
    server.disconnect();
    await once(server, 'exit');
  }
}

const { values: args } = parseArgs({
  options: {
    serve: { type: 'string' },
    port: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
  },
});

if (args.serve) {
  await serveRung(args.serve as Rung, Number(args.port));
} else {
  const wrk = findWrk();
  if (!wrk) throw new Error(`the ladder needs wrk: ${WRK_INSTALL}`);
  const rows: Array<Record<Rung, number>> = [];
  for (let round = 1; round <= Number(args.rounds); round++) {
    const row = {} as Record<Rung, number>;
    const pools = signPools();
    for (const rung of RUNGS) {
      row[rung] = await measure(rung, wrk, Number(args.seconds), pools);
      console.error(`round ${round}: ${rung} ${Math.round(row[rung])} req/s`);
    }
    rows.push(row);
  }
  console.log(`| rung | ${rows.map((_, i) => `round ${i + 1} req/s (ratio)`).join(' | ')} |`);
  console.log(`|---|${rows.map(() => '---').join('|')}|`);
  for (const rung of RUNGS) {
    const cells = rows.map((row) => `${Math.round(row[rung]).toLocaleString('en-US')}${rung === 'bare' ? '' : ` (${(row[rung] / row.bare).toFixed(2)}x)`}`);
    console.log(`| ${rung} | ${cells.join(' | ')} |`);
  }
}
