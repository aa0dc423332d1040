/**
 * A stand-in for FaceSign's media host (real HTTP on 127.0.0.1) and tiny media
 * files that file-type recognises: a JPEG (SOI, a JFIF APP0 segment, some
 * bytes, EOI) and an MP4 (an `ftyp` box of brand isom, then an `mdat` box).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A small valid-looking JPEG of `size` bytes (at least 24), different for each `seed`. */
export function jpegBytes(size = 600, seed = 1): Buffer {
  const head = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const body = Buffer.from(Buffer.alloc(size - head.length - 2).map((_, i) => (i * 31 + seed) % 251));
  return Buffer.concat([head, body, Buffer.from([0xff, 0xd9])]);
}

/** A small MP4: an ftyp box (isom, compatible iso2 avc1 mp41) and an mdat box filling up to `size` bytes. */
export function mp4Bytes(size = 900): Buffer {
  const ftyp = Buffer.alloc(32);
  ftyp.writeUInt32BE(32, 0);
  ftyp.write('ftypisom', 4, 'latin1');
  ftyp.writeUInt32BE(512, 12);
  ftyp.write('isomiso2avc1mp41', 16, 'latin1');
  const mdat = Buffer.from(Buffer.alloc(size - 32).map((_, i) => (i * 7) % 256));
  mdat.writeUInt32BE(size - 32, 0);
  mdat.write('mdat', 4, 'latin1');
  return Buffer.concat([ftyp, mdat]);
}

/** How the host answers one request: a file, a status, or a body cut off after `stallAfter` bytes that never ends. */
export type MediaReply = { bytes: Buffer; contentType: string; stallAfter?: number } | { status: number };

export interface MediaHost {
  /** The base URL, e.g. http://127.0.0.1:1234 */
  url: string;
  /** The paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts the host; `reply` decides each answer from the path and how many requests that path had before. */
export async function startMediaHost(reply: (path: string, count: number) => MediaReply): Promise<MediaHost> {
  const requests: string[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const count = requests.filter((p) => p === path).length;
    requests.push(path);
    const answer = reply(path, count);
    if ('status' in answer) {
      res.writeHead(answer.status).end();
      return;
    }
    res.writeHead(200, { 'content-type': answer.contentType, 'content-length': answer.bytes.length });
    if (answer.stallAfter === undefined) {
      res.end(answer.bytes);
      return;
    }
    open.add(res);
    res.write(answer.bytes.subarray(0, answer.stallAfter));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
