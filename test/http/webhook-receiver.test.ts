import assert from 'node:assert/strict';
import net from 'node:net';
import type { SourceConfig } from '../../src/core/config.js';
import { PROVIDER_IDS, type ProviderId } from '../../src/core/event.js';
import { PROVIDERS } from '../../src/providers/registry.js';
import { loadSample, sampleTypes } from '../../src/providers/samples.js';
import { testSource, testSources } from '../helpers/config.js';
import { signedRequest, startTestHerald, type TestHerald } from '../helpers/herald.js';

/** The header that carries each provider's signature or token. */
const SIGNATURE_HEADER: Record<ProviderId, string> = {
  facesign: 'X-FaceSign-Signature',
  faceio: 'WWW-Authenticate',
  legaltalent: 'X-Webhook-Signature',
  owleyes: 'x-owl-eyes-signature',
};

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function freshSample(provider: ProviderId, type: string, now = Date.now()): Record<string, unknown> {
  return PROVIDERS[provider].freshenSample(loadSample(provider, type), now);
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== name.toLowerCase()));
}

describe('POST /webhooks/<source>', () => {
  let herald: TestHerald;
  const sources = testSources();

  beforeEach(async () => {
    herald = await startTestHerald();
  });
  afterEach(async () => {
    await herald.stop();
  });

  for (const provider of PROVIDER_IDS) {
    describe(provider, () => {
      const source = sources[provider];
      const sample = () => freshSample(provider, sampleTypes(provider)[0]!);

      for (const type of sampleTypes(provider)) {
        it(`stores a signed ${type} once, normalized`, async () => {
          const payload = freshSample(provider, type);
          const reply = await herald.postSigned(source, payload);
          assert.equal(reply.status, 200, reply.body);
          assert.deepEqual(JSON.parse(reply.body), { status: 'accepted' });

          const [event, ...rest] = await herald.store.listEvents();
          assert.equal(rest.length, 0);
          assert.ok(event);
          assert.match(event.id, UUID_V7);
          assert.equal(event.specversion, '1.0');
          assert.equal(event.source, provider);
          assert.equal(event.provider, provider);
          assert.equal(event.type, type);
          assert.deepEqual(event.data, payload);
          assert.deepEqual(
            { category: event.category, outcome: event.outcome },
            (({ category, outcome }) => ({ category, outcome }))(PROVIDERS[provider].normalize(payload, { body: Buffer.alloc(0), headers: {} }, Date.now())),
          );
          assert.ok(Math.abs(Date.parse(event.receivedAt) - Date.now()) < 10_000);
        });
      }

      const rejections: Array<[string, number, () => { body: Buffer | string; headers: Record<string, string> }]> = [
        [
          'a wrong secret',
          401,
          () => {
            const wrong = testSource(provider, provider, provider === 'faceio' ? { tokens: ['not-the-token'] } : { secrets: ['not-the-secret'] });
            return signedRequest(wrong, sample());
          },
        ],
        [
          'no signature header',
          401,
          () => {
            const signed = signedRequest(source, sample());
            return { body: signed.body, headers: withoutHeader(signed.headers, SIGNATURE_HEADER[provider]) };
          },
        ],
        [
          'a garbled signature header',
          401,
          () => {
            const signed = signedRequest(source, sample());
            return {
              body: signed.body,
              headers: { ...withoutHeader(signed.headers, SIGNATURE_HEADER[provider]), [SIGNATURE_HEADER[provider]]: 'v1=zz,garbage' },
            };
          },
        ],
        ['malformed JSON', 400, () => signedRequest(source, Buffer.from('{"id": "evt_1", "type": '))],
        ['a payload failing its schema', 422, () => signedRequest(source, { unexpected: true })],
        ['a JSON array', 422, () => signedRequest(source, [sample()])],
        ['invalid UTF-8', 400, () => signedRequest(source, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))],
        ['a body over the limit', 413, () => signedRequest(source, { ...sample(), padding: 'x'.repeat(300 * 1024) })],
        [
          'a wrong content type',
          415,
          () => {
            const signed = signedRequest(source, sample());
            return { body: signed.body, headers: { ...signed.headers, 'content-type': 'text/plain' } };
          },
        ],
      ];
      // FACEIO sends a bearer token, not a signature: nothing binds it to the body or a time.
      if (provider !== 'faceio') {
        rejections.push(
          [
            'the signature of another body',
            401,
            () => {
              const signed = signedRequest(source, sample());
              return { body: JSON.stringify(sample()), headers: signed.headers };
            },
          ],
          // A minute past the 5-minute tolerance: a timestamp in whole seconds, and a request that waits for a busy
          // machine, bring one signed a second ahead back within it (CI once got 200 for +301 s).
          ['a timestamp older than the tolerance', 401, () => signedRequest(source, sample(), Date.now() - 360_000)],
          ['a timestamp further ahead than the tolerance', 401, () => signedRequest(source, sample(), Date.now() + 360_000)],
        );
      }

      for (const [what, status, makeRequest] of rejections) {
        it(`answers ${status} to ${what}, and stores nothing`, async () => {
          const request = makeRequest();
          const reply = await herald.post(source.name, request.body, request.headers);
          assert.equal(reply.status, status, reply.body);
          assert.equal(await herald.store.countEvents(), 0);
          // The reply is generic: it never says which check failed.
          assert.doesNotMatch(reply.body, /signature|secret|token|timestamp|schema/i);
        });
      }

      it('stores the same event posted twice once, answering 2xx to both', async () => {
        const { body, headers } = signedRequest(source, sample());
        const first = await herald.post(source.name, body, headers);
        const second = await herald.post(source.name, body, headers);
        assert.deepEqual([first.status, second.status], [200, 200]);
        assert.deepEqual(JSON.parse(second.body), { status: 'duplicate' });
        assert.equal(await herald.store.countEvents(), 1);
      });

      it('stores an event posted 20 times concurrently once, answering 2xx to all', async () => {
        const { body, headers } = signedRequest(source, sample());
        const replies = await Promise.all(Array.from({ length: 20 }, () => herald.post(source.name, body, headers)));
        assert.deepEqual(
          replies.map((r) => r.status),
          Array(20).fill(200),
        );
        assert.equal(replies.filter((r) => JSON.parse(r.body).status === 'accepted').length, 1);
        assert.equal(await herald.store.countEvents(), 1);
      });
    });
  }

  it('answers 404 to an unknown source', async () => {
    const { body, headers } = signedRequest(sources.facesign, freshSample('facesign', 'session.status'));
    const reply = await herald.post('nope', body, headers);
    assert.equal(reply.status, 404);
    assert.equal(await herald.store.countEvents(), 0);
  });

  it('refuses a body over the limit from its Content-Length, without reading the rest', async () => {
    // Declare 10 MB, send 10 bytes, and wait: the 413 must come without the rest.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(herald.port, '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      socket.write(
        'POST /webhooks/facesign HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' + `Content-Length: ${10 * 1024 * 1024}\r\n\r\n{"id":"evt`,
      );
      setTimeout(() => socket.destroy(), 5000).unref();
    });
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.match(reply, /connection: close/i);
    assert.equal(await herald.store.countEvents(), 0);
  });

  it('accepts requests signed with either of two secrets during a rotation', async () => {
    await herald.stop();
    const rotating = {
      facesign: testSource('facesign', 'facesign', { secrets: ['new-secret', 'old-secret'] }),
      faceio: testSource('faceio', 'faceio', { tokens: ['new-token', 'old-token'] }),
      legaltalent: testSource('legaltalent', 'legaltalent', { secrets: ['new-secret', 'old-secret'] }),
      owleyes: testSource('owleyes', 'owleyes', { secrets: ['new-secret', 'old-secret'] }),
    };
    herald = await startTestHerald({ sources: rotating });
    for (const provider of PROVIDER_IDS) {
      const signers: SourceConfig[] = [
        rotating[provider],
        provider === 'faceio' ? testSource('faceio', 'faceio', { tokens: ['old-token'] }) : testSource(provider, provider, { secrets: ['old-secret'] }),
      ];
      for (const [i, signer] of signers.entries()) {
        // FACEIO dedupes on the body: vary it so each request is a new event.
        const payload = { ...freshSample(provider, sampleTypes(provider)[0]!), facialId: `rotation-${i}` };
        const reply = await herald.postSigned(signer, provider === 'faceio' ? payload : freshSample(provider, sampleTypes(provider)[0]!));
        assert.equal(reply.status, 200, `${provider} secret ${i}: ${reply.body}`);
      }
    }
    assert.equal(await herald.store.countEvents(), 8);
  });
});

describe('health endpoints', () => {
  let herald: TestHerald;
  before(async () => {
    herald = await startTestHerald();
  });
  after(async () => {
    await herald.stop();
  });

  it('GET /healthz answers 200', async () => {
    const response = await fetch(`${herald.url}/healthz`);
    assert.equal(response.status, 200);
  });

  it('GET /readyz answers 200 while the store is reachable, 503 once it is closed', async () => {
    assert.equal((await fetch(`${herald.url}/readyz`)).status, 200);
    await herald.store.close();
    assert.equal((await fetch(`${herald.url}/readyz`)).status, 503);
  });
});
