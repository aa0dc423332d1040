/**
 * The webhook receiver herald delivers to, a process of its own (forked by
 * the bench). It answers 204 at once, counts deliveries and distinct
 * `webhook-id`s, checks the Standard Webhooks signature of the first ones
 * after each reset, and notes when each bench event first arrived (the event id
 * is in the delivered body), for the latency scenario. The bench asks over IPC.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { clock, HOOK_SECRET, parseBenchEventId, type SinkCommand, type SinkReply, type SinkStats } from './common.js';

/** Enough to catch a wrong signature; checking every one would make the sink the bottleneck. */
const VERIFY_FIRST = 100;
const PROVIDER_EVENT_ID = /"providerEventId":"([^"]+)"/;

const webhook = new Webhook(HOOK_SECRET);
let stats: SinkStats;
let webhookIds: Set<string>;
/** Per load-run tag: request index -> first arrival time. */
let arrivals: Map<string, Map<number, number>>;

function reset(): void {
  stats = { received: 0, unique: 0, verified: 0, badSignatures: 0, firstAt: null, lastAt: null };
  webhookIds = new Set();
  arrivals = new Map();
}
reset();

function record(headers: Record<string, string | string[] | undefined>, body: string): void {
  const at = clock();
  stats.received++;
  stats.firstAt ??= at;
  stats.lastAt = at;
  const id = String(headers['webhook-id']);
  if (!webhookIds.has(id)) {
    webhookIds.add(id);
    stats.unique++;
  }
  if (stats.verified < VERIFY_FIRST) {
    stats.verified++;
    try {
      webhook.verify(body, headers as Record<string, string>);
    } catch {
      stats.badSignatures++;
    }
  }
  const eventId = PROVIDER_EVENT_ID.exec(body)?.[1];
  const bench = eventId === undefined ? undefined : parseBenchEventId(eventId);
  if (bench) {
    let times = arrivals.get(bench.tag);
    if (!times) arrivals.set(bench.tag, (times = new Map()));
    if (!times.has(bench.index)) times.set(bench.index, at);
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    record(req.headers, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(204);
    res.end();
  });
});

process.on('message', (command: SinkCommand) => {
  let reply: SinkReply;
  if (command.cmd === 'reset') {
    reset();
    reply = { ok: true };
  } else if (command.cmd === 'stats') {
    reply = { stats: { ...stats } };
  } else {
    const times = arrivals.get(command.tag) ?? new Map<number, number>();
    reply = { arrivals: Array.from({ length: command.count }, (_, i) => times.get(i) ?? -1) };
  }
  process.send!(reply);
});
process.on('disconnect', () => process.exit(0));

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
