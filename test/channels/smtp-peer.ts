/**
 * A real SMTP server (smtp-server) for the email channel's tests: it requires a
 * login, parses what it receives with mailparser, and refuses on demand, by
 * recipient, the way real servers do:
 *   full@...   -> 452 (mailbox full, try later: transient)
 *   nobody@... -> 550 (no such user: permanent)
 * A wrong password gets 535, which prints the login back, verbatim and as the
 * base64 AUTH PLAIN string (as careless servers do). Plus a server that
 * accepts connections and never says a word, for time-outs, and one whose
 * greeting never ends.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** The envelope: MAIL FROM and every RCPT TO, Bcc included. */
  mailFrom: string;
  rcptTo: string[];
  /** Who logged in. */
  user: string | undefined;
  parsed: ParsedMail;
}

export interface SmtpPeer {
  port: number;
  /** Connections opened so far (the pool should reuse one). */
  connections: number;
  mails: ReceivedMail[];
  close(): Promise<void>;
}

/** An SMTP error reply, the way smtp-server expects one from a handler. */
function reply(responseCode: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode });
}

export async function startSmtpPeer(user: string, password: string): Promise<SmtpPeer> {
  const mails: ReceivedMail[] = [];
  let connections = 0;
  const server = new SMTPServer({
    // Plain SMTP on loopback: no STARTTLS to negotiate, and AUTH allowed without it.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onConnect(_session, callback) {
      connections += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) callback(null, { user });
      else {
        const plain = Buffer.from(`\0${auth.username}\0${auth.password}`).toString('base64');
        callback(reply(535, `Authentication credentials invalid for ${auth.username}:${auth.password} (AUTH PLAIN ${plain})`));
      }
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('full@')) callback(reply(452, 'Mailbox full, try again later'));
      else if (address.address.startsWith('nobody@')) callback(reply(550, 'No such user here'));
      else callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream).then((parsed) => {
        mails.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          user: session.user as string | undefined,
          parsed,
        });
        callback();
      }, callback);
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  return {
    port: (server.server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP server that accepts connections and never sends the SMTP greeting. */
export async function startSilentPeer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/**
 * A TCP server whose greeting never ends: `220-` continuation lines, up to
 * `limitBytes` and then silence. A client that reads it all waits for the rest.
 */
export async function startEndlessGreetingPeer(limitBytes: number): Promise<{ port: number; hungUp: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const line = Buffer.from(`220-${'x'.repeat(1000)}\r\n`);
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => (peer.hungUp = true));
    let written = 0;
    const pump = () => {
      while (!socket.destroyed && written < limitBytes) {
        written += line.length;
        if (!socket.write(line)) return void socket.once('drain', pump);
      }
    };
    pump();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const peer = {
    port: (server.address() as AddressInfo).port,
    hungUp: false,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  return peer;
}
