/**
 * The hostile-request corpus: its entry format, and how an entry becomes bytes
 * on the wire. The entries themselves are in corpus.json (made by
 * generate-corpus.ts, checked in, reviewed like code).
 */
import type { SourceConfig } from '../../../src/core/config.js';
import { PROVIDERS } from '../../../src/providers/registry.js';

export type SignMode =
  /** Sent as written: no signature headers beyond those in `headers`. */
  | 'none'
  /** Signed now with the source's own secret: the request passes verification and tests what comes after. */
  | 'valid'
  /** Signed now with a secret the source does not have. */
  | 'wrong-secret'
  /** Signed an hour ago with the right secret: a replayed request. */
  | 'stale'
  /** Signed now with another source's secret. */
  | 'other-source';

export interface CorpusEntry {
  name: string;
  /** The source in the path; `path` overrides the whole path. */
  source: string;
  path?: string;
  method?: string;
  headers: Record<string, string>;
  /** The body, as UTF-8 text or base64 bytes. */
  body?: string;
  bodyBase64?: string;
  /** A large body, written short: the parts joined, `{ repeat, count }` standing for `repeat` written `count` times. */
  bodyParts?: Array<string | { repeat: string; count: number }>;
  sign: SignMode;
  /** For 'other-source': whose secret signs it. */
  signAs?: string;
  /** A raw HTTP/1.1 request sent over a socket, for what fetch refuses to send (bad header bytes). */
  raw?: string;
  /** A large header, written short: `name` with `unit` repeated `count` times. */
  headerRepeat?: { name: string; unit: string; count: number };
  expect: number;
}

export function entryBody(entry: CorpusEntry): Buffer {
  if (entry.bodyBase64 !== undefined) return Buffer.from(entry.bodyBase64, 'base64');
  if (entry.bodyParts) {
    return Buffer.from(entry.bodyParts.map((part) => (typeof part === 'string' ? part : part.repeat.repeat(part.count))).join(''), 'utf8');
  }
  return Buffer.from(entry.body ?? '', 'utf8');
}

/** The headers to send: the entry's, plus a signature made now as its mode says. */
export function entryHeaders(entry: CorpusEntry, sources: Record<string, SourceConfig>, wrongSecret: SourceConfig): Record<string, string> {
  const body = entryBody(entry);
  const own = sources[entry.source];
  const now = Date.now();
  const signer =
    entry.sign === 'valid' || entry.sign === 'stale'
      ? own
      : entry.sign === 'wrong-secret'
        ? own && { ...wrongSecret, provider: own.provider, name: own.name }
        : entry.sign === 'other-source'
          ? sources[entry.signAs ?? '']
          : undefined;
  const headers = entry.headerRepeat
    ? { ...entry.headers, [entry.headerRepeat.name]: entry.headerRepeat.unit.repeat(entry.headerRepeat.count) }
    : entry.headers;
  if (!signer || !own) return headers;
  // Another source's secret, in the shape this source's provider expects.
  const source =
    entry.sign === 'other-source'
      ? { ...own, secrets: signer.secrets.length ? signer.secrets : signer.tokens, tokens: signer.tokens.length ? signer.tokens : signer.secrets }
      : signer;
  const signed = PROVIDERS[own.provider].sign(body, source, entry.sign === 'stale' ? now - 3_600_000 : now);
  return { ...headers, ...signed };
}
