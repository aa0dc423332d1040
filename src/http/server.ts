/**
 * The node:http server around the Koa app, with the limits that keep a slow or
 * hostile client from holding resources: headers must arrive within 10 s and a
 * whole request within `server.requestTimeout` (a trickled body is cut off
 * with 408), at most 16 KiB of headers (431 beyond) and 100 header lines.
 */
import { createServer, type Server } from 'node:http';
import type Koa from 'koa';

export interface ServerLimits {
  requestTimeoutMs: number;
}

const HEADERS_TIMEOUT_MS = 10_000;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_HEADER_LINES = 100;
/** Shorter than the keep-alive timeouts of common load balancers and clients (60 s and more). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;

export function createHttpServer(app: Koa, limits: ServerLimits): Server {
  const server = createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node checks those time-outs (default 30 s, which would let a slow client run on).
      connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs),
    },
    app.callback(),
  );
  server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, limits.requestTimeoutMs);
  server.maxHeadersCount = MAX_HEADER_LINES;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // A request the parser refuses (bad header bytes, header injection, too large)
  // gets a plain 4xx and the socket closes; nothing reaches the app.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}
