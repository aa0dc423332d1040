/**
 * Writes test/http/hostile/corpus.json: at least 200 hostile requests across
 * the four providers. Run after changing it: `npm run build && node
 * dist/test/http/hostile/generate-corpus.js`, then review the diff.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { loadSample, sampleTypes } from '../../../src/providers/samples.js';
import type { ProviderId } from '../../../src/core/event.js';
import type { CorpusEntry } from './corpus.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const SOURCES: ProviderId[] = ['facesign', 'faceio', 'legaltalent', 'owleyes'];
const OTHER: Record<ProviderId, ProviderId> = { facesign: 'legaltalent', faceio: 'owleyes', legaltalent: 'owleyes', owleyes: 'facesign' };
const SIGNATURE_HEADER: Record<ProviderId, string> = {
  facesign: 'x-facesign-signature',
  faceio: 'www-authenticate',
  legaltalent: 'x-webhook-signature',
  owleyes: 'x-owl-eyes-signature',
};

function entriesFor(source: ProviderId): CorpusEntry[] {
  const sample = loadSample(source, sampleTypes(source)[0]!);
  const text = JSON.stringify(sample);
  const e = (name: string, rest: Omit<CorpusEntry, 'name' | 'source' | 'headers'> & { headers?: Record<string, string> }): CorpusEntry => ({
    name: `${source}: ${name}`,
    source,
    headers: JSON_TYPE,
    ...rest,
  });
  const out: CorpusEntry[] = [];

  // Truncated bodies, correctly signed: the signature holds, the JSON does not.
  for (const cut of [1, 2, 10, Math.floor(text.length / 2), text.length - 1]) {
    out.push(e(`truncated at ${cut} bytes, signed`, { body: text.slice(0, cut), sign: 'valid', expect: 400 }));
  }
  out.push(e('truncated, unsigned', { body: text.slice(0, 20), sign: 'none', expect: 401 }));
  // Invalid UTF-8, signed.
  for (const [name, bytes] of [
    ['lone continuation byte', [0x80]],
    ['overlong encoding', [0xc0, 0xaf]],
    ['surrogate half', [0xed, 0xa0, 0x80]],
    ['0xff', [0xff, 0xfe]],
  ] as const) {
    const body = Buffer.concat([Buffer.from('{"id":"'), Buffer.from(bytes), Buffer.from('"}')]);
    out.push(e(`invalid UTF-8 (${name}), signed`, { bodyBase64: body.toString('base64'), sign: 'valid', expect: 400 }));
  }
  // JSON bombs, signed: deep nesting and huge arrays, inside the body limit.
  for (const depth of [40, 1000, 50_000]) {
    out.push(
      e(`nested ${depth} arrays deep, signed`, {
        bodyParts: [
          { repeat: '[', count: depth },
          { repeat: ']', count: depth },
        ],
        sign: 'valid',
        expect: 422,
      }),
    );
    const objects = Math.min(depth, 20_000); // 6 bytes a level: deeper would pass the body limit
    out.push(
      e(`nested ${objects} objects deep in a payload, signed`, {
        bodyParts: ['{"a":', { repeat: '{"a":', count: objects }, '1', { repeat: '}', count: objects + 1 }],
        sign: 'valid',
        expect: 422,
      }),
    );
    out.push(e(`nested ${depth} arrays deep, unclosed, signed`, { bodyParts: [{ repeat: '[', count: depth }], sign: 'valid', expect: 400 }));
  }
  out.push(
    e('an array of 60,000 numbers in a payload, signed', {
      bodyParts: ['{"pad":[', { repeat: '0,', count: 60_000 }, `0],${text.slice(1)}`],
      sign: 'valid',
      expect: 422,
    }),
  );
  out.push(e('an object of 21,000 keys, signed', { bodyParts: ['{', { repeat: '"k":0,', count: 21_000 }, '"z":0}'], sign: 'valid', expect: 422 }));
  out.push(e('a bomb, unsigned', { bodyParts: [{ repeat: '[', count: 100_000 }], sign: 'none', expect: 401 }));
  // Duplicate keys: the payload says two things at once.
  out.push(e('duplicate keys, unsigned', { body: text.replace(/^\{/, '{"type":"x","type":"y",'), sign: 'none', expect: 401 }));
  out.push(e('duplicate keys, wrong secret', { body: text.replace(/^\{/, '{"type":"x","type":"y",'), sign: 'wrong-secret', expect: 401 }));
  out.push(e('duplicate keys making the payload invalid, signed', { body: `{"data":1,"data":2}`, sign: 'valid', expect: 422 }));
  // Prototype pollution keys, signed: refused, and no prototype changes.
  out.push(e('__proto__ key, signed', { body: text.replace(/^\{/, '{"__proto__":{"polluted":"yes"},'), sign: 'valid', expect: 422 }));
  out.push(e('nested __proto__ key, signed', { body: text.replace(/^\{/, '{"x":{"y":{"__proto__":{"polluted":"yes"}}},'), sign: 'valid', expect: 422 }));
  out.push(e('constructor.prototype, signed', { body: text.replace(/^\{/, '{"constructor":{"prototype":{"polluted":"yes"}},'), sign: 'valid', expect: 422 }));
  out.push(e('__proto__ key, unsigned', { body: '{"__proto__":{"polluted":"yes"}}', sign: 'none', expect: 401 }));
  // Not JSON objects, signed.
  for (const body of ['null', '"a string"', '42', 'true', '[]', '[{}]']) {
    out.push(e(`JSON ${body}, signed`, { body, sign: 'valid', expect: 422 }));
  }
  out.push(e('JSON with a BOM, signed', { body: `\ufeff${text}`, sign: 'valid', expect: 400 }));
  out.push(e('two JSON documents, signed', { body: `${text}${text}`, sign: 'valid', expect: 400 }));
  out.push(e('NaN, signed', { body: '{"id": NaN}', sign: 'valid', expect: 400 }));
  // Oversized bodies.
  out.push(e('300 KB body, signed', { bodyParts: ['{"pad":"', { repeat: 'x', count: 300 * 1024 }, `",${text.slice(1)}`], sign: 'valid', expect: 413 }));
  out.push(e('300 KB body, unsigned', { bodyParts: [{ repeat: 'x', count: 300 * 1024 }], sign: 'none', expect: 413 }));
  // Wrong content types, correctly signed.
  for (const type of [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/jsonp',
    'text/json',
    '',
  ]) {
    out.push(e(`content type "${type}", signed`, { headers: type ? { 'content-type': type } : {}, body: text, sign: 'valid', expect: 415 }));
  }
  // Replayed, foreign and garbled signatures.
  if (source !== 'faceio') {
    out.push(e('replayed: signed an hour ago', { body: text, sign: 'stale', expect: 401 }));
  }
  out.push(e(`signed with ${OTHER[source]}'s secret`, { body: text, sign: 'other-source', signAs: OTHER[source], expect: 401 }));
  out.push(e('signed with a wrong secret', { body: text, sign: 'wrong-secret', expect: 401 }));
  for (const value of ['', ' ', 'garbage', 'v1=', 't=,v1=', 'sha256=', 'Bearer', 'Basic dXNlcjpwYXNz', 'x'.repeat(800), '=,=,=,=']) {
    out.push(
      e(`signature header "${value.slice(0, 12)}"`, { headers: { ...JSON_TYPE, [SIGNATURE_HEADER[source]]: value }, body: text, sign: 'none', expect: 401 }),
    );
  }
  // Empty bodies.
  out.push(e('empty body, unsigned', { body: '', sign: 'none', expect: 401 }));
  out.push(e('empty body, signed', { body: '', sign: 'valid', expect: 400 }));
  out.push(e('whitespace body, signed', { body: ' \n\t ', sign: 'valid', expect: 400 }));
  // Header injection and malformed requests: refused by the HTTP parser.
  const host = 'Host: 127.0.0.1\r\n';
  out.push(
    e('header value with a bare LF (header injection)', {
      raw: `POST /webhooks/${source} HTTP/1.1\r\n${host}Content-Type: application/json\r\nX-Evil: a\nX-Injected: 1\r\nContent-Length: 2\r\n\r\n{}`,
      sign: 'none',
      expect: 400,
    }),
  );
  out.push(
    e('header value with a NUL byte', {
      raw: `POST /webhooks/${source} HTTP/1.1\r\n${host}Content-Type: application/json\r\nX-Evil: a\u0000b\r\nContent-Length: 2\r\n\r\n{}`,
      sign: 'none',
      expect: 400,
    }),
  );
  out.push(
    e('both Content-Length and chunked (request smuggling)', {
      raw: `POST /webhooks/${source} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      sign: 'none',
      expect: 400,
    }),
  );
  out.push(e('a 64 KB header', { headerRepeat: { name: 'x-big', unit: 'a', count: 64 * 1024 }, body: '{}', sign: 'none', expect: 431 }));
  out.push(
    e('Content-Length that is not a number', {
      raw: `POST /webhooks/${source} HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
      sign: 'none',
      expect: 400,
    }),
  );
  // Wrong methods and paths.
  out.push(e('GET', { method: 'GET', sign: 'none', expect: 405 }));
  out.push(e('PUT, signed', { method: 'PUT', body: text, sign: 'valid', expect: 405 }));
  return out;
}

const generic: CorpusEntry[] = [
  { name: 'unknown source', source: 'nope', headers: JSON_TYPE, body: '{}', sign: 'none', expect: 404 },
  { name: 'path traversal', source: 'facesign', path: '/webhooks/..%2f..%2fetc%2fpasswd', headers: JSON_TYPE, body: '{}', sign: 'none', expect: 404 },
  { name: 'source name with a slash', source: 'facesign', path: '/webhooks/facesign/extra', headers: JSON_TYPE, body: '{}', sign: 'none', expect: 404 },
  { name: 'no source', source: 'facesign', path: '/webhooks/', headers: JSON_TYPE, body: '{}', sign: 'none', expect: 404 },
  { name: 'source with encoded NUL', source: 'facesign', path: '/webhooks/facesign%00', headers: JSON_TYPE, body: '{}', sign: 'none', expect: 404 },
];

const corpus = [...SOURCES.flatMap(entriesFor), ...generic];
writeFileSync(path.join(PACKAGE_ROOT, 'test/http/hostile/corpus.json'), `${JSON.stringify(corpus, null, 1)}\n`);
console.log(`${corpus.length} entries`);
