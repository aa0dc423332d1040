/**
 * A real SMTP server (smtp-server) for the email channel's tests: it requires a
 * login, parses what it receives with mailparser, and refuses on demand, by
 * recipient, the way real servers do:
 *   full@...   -> 452 (mailbox full, try later: transient)
 *   nobody@... -> 550 (no such user: permanent)
 * A wrong password gets 535. Plus a server that accepts connections and never
 * says a word, for time-outs.
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
      else callback(reply(535, 'Authentication credentials invalid'));
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

