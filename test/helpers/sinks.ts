/**
 * Real peers for delivery tests: an HTTP server that records what it receives
 * and answers as scripted (standing in for Slack or a webhook receiver), and an
 * SMTP server that parses what it receives with mailparser.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface SinkRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface SinkReply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  /** Never answer (the client must time out). */
  hang?: boolean;
  /** Answer after this long. */
  delayMs?: number;
}

export type Replier = (request: SinkRequest, index: number) => SinkReply;

/** Resolves once `check()` holds, polling; rejects after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface HttpSink {
  url: string;
  requests: SinkRequest[];
  /** Changes how later requests are answered. */
  reply: Replier;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts the sink on `port` (0: any free port). */
export async function startHttpSink(reply: Replier = () => ({ status: 200, body: 'ok' }), port = 0): Promise<HttpSink> {
  const requests: SinkRequest[] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const sink: HttpSink = {
    url: '',
    requests,
    reply,
    waitFor: (count, timeoutMs) => waitUntil(() => requests.length >= count, timeoutMs, `${count} requests`),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: SinkRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(request);
      const answer = sink.reply(request, requests.length - 1);
      if (answer.hang) {
        hanging.add(res);
        return;
      }
      const respond = () => {
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.body ?? '');
      };
      if (answer.delayMs) setTimeout(respond, answer.delayMs);
      else respond();
    });
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}

/** One webhook-id's visit to a visit sink: the path it was sent to, and from arrival until the exchange ended. */
export interface Visit {
  id: string;
  path: string;
  arrived: number;
  ended: number;
}

/**
 * Whether two visits of one webhook-id were in flight at once, as far as the sink can tell. A process
 * killed at `diedAt` (performance.now(), read once its exit was seen) had nothing in flight after
 * that, whenever the sink got round to reading its request: a busy test process reads a dead
 * sender's last request after a takeover's, when the two arrive in one turn of its loop.
 */
export function overlapping(a: Visit, b: Visit, dead?: { path: string; diedAt: number }): boolean {
  const span = (v: Visit) => (v.path === dead?.path ? [Math.min(v.arrived, dead.diedAt), Math.min(v.ended, dead.diedAt)] : [v.arrived, v.ended]);
  const [aFrom, aTo] = span(a);
  const [bFrom, bTo] = span(b);
  return aFrom! < bTo! && bFrom! < aTo!;
}

export interface VisitSink {
  url: string;
  visits: Visit[];
  close(): Promise<void>;
}

/**
 * A webhook receiver that answers after `pauseMs` (so that sends are in flight when a sender is
 * killed) and records every visit, to find overlapping sends of one webhook-id. A visit ends at the
 * first sign its sender is done with it: the answer is written, or the connection's end or reset is
 * read. Not the socket's 'close', which comes a loop turn or more after the end is read: a takeover
 * send read in that gap looked like an overlap when the test process was busy.
 */
export async function startVisitSink(pauseMs: number): Promise<VisitSink> {
  const visits: Visit[] = [];
  const current = new WeakMap<object, Visit>();
  const end = (visit: Visit | undefined) => {
    if (visit && visit.ended === Infinity) visit.ended = performance.now();
  };
  const server = createServer((req, res) => {
    const visit: Visit = { id: String(req.headers['webhook-id']), path: req.url ?? '', arrived: performance.now(), ended: Infinity };
    visits.push(visit);
    current.set(req.socket, visit);
    res.on('finish', () => end(visit));
    res.on('close', () => end(visit));
    req.resume();
    req.on('end', () => setTimeout(() => res.end('ok'), pauseMs));
  });
  server.on('connection', (socket) => {
    socket.on('end', () => end(current.get(socket)));
    socket.on('error', () => end(current.get(socket)));
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    visits,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface SmtpSink {
  url: string;
  mails: ParsedMail[];
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          mails.push(mail);
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitFor: (count, timeoutMs) => waitUntil(() => mails.length >= count, timeoutMs, `${count} mails`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
