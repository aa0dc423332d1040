/**
 * Rotating a webhook destination's signing keys without downtime: the webhook
 * channel against real receivers, each holding one key and verifying with the
 * code the README shows (docs/verify-herald-webhook.mjs, imported as it is,
 * and checked to be the README's block word for word).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebhookChannel } from '../../src/channels/webhook.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { generateEd25519KeyPair, generateHmacSecret } from '../../src/core/signing-keys.js';
import type { WebhookMessage } from '../../src/core/message.js';
import { startHttpSink, type HttpSink, type SinkRequest } from '../helpers/sinks.js';
import { attemptContext, expectFailure } from './helpers.js';

type Headers = Record<string, string | undefined>;
interface ReceiverSnippet {
  verifyWithSecret(secret: string, body: string, headers: Headers): unknown;
  verifyWithPublicKey(publicKey: string, body: string, headers: Headers, nowMs?: number): unknown;
}

const SNIPPET_FILE = path.join(PACKAGE_ROOT, 'docs', 'verify-herald-webhook.mjs');
const MESSAGE: WebhookMessage = { channel: 'webhook', body: { type: 'kyc.session.approved', data: { name: 'Zoë' } }, contentType: 'application/json' };

function flat(headers: IncomingHttpHeaders): Headers {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}

describe('rotating webhook signing keys, with the receivers the README shows', () => {
  const old = generateHmacSecret();
  const fresh = generateHmacSecret();
  const ed25519 = generateEd25519KeyPair();
  let snippet: ReceiverSnippet;
  /** Each receiver holds one key: the old secret, the new secret, or the Ed25519 public key. */
  let verifiers: Record<'old' | 'new' | 'ed25519', (body: string, headers: Headers) => unknown>;
  let receivers: Record<string, HttpSink>;

  before(async () => {
    snippet = (await import(pathToFileURL(SNIPPET_FILE).href)) as ReceiverSnippet;
    verifiers = {
      old: (body, headers) => snippet.verifyWithSecret(old, body, headers),
      new: (body, headers) => snippet.verifyWithSecret(fresh, body, headers),
      ed25519: (body, headers) => snippet.verifyWithPublicKey(ed25519.publicKey, body, headers),
    };
    receivers = {};
    for (const [name, verifies] of Object.entries(verifiers)) {
      receivers[name] = await startHttpSink((request: SinkRequest) => {
        try {
          verifies(request.body, flat(request.headers));
          return { status: 204 };
        } catch {
          return { status: 401, body: 'bad signature' };
        }
      });
    }
  });
  after(() => Promise.all(Object.values(receivers).map((receiver) => receiver.close())));

  const channel = (url: string, secrets: string[]) =>
    new WebhookChannel({ name: 'crm', type: 'webhook', options: { url, secrets, allowPrivateNetwork: true } });

  it('keeps every receiver accepting every delivery at each step of a rotation', async () => {
    const steps: Array<{ secrets: string[]; accepted: string[]; refused: string[] }> = [
      { secrets: [old], accepted: ['old'], refused: ['new', 'ed25519'] },
      // 1. herald adds the new key: every request carries both signatures.
      { secrets: [fresh, old], accepted: ['old', 'new'], refused: ['ed25519'] },
      // Ed25519 beside them: HMAC and Ed25519 keys mix in one list.
      { secrets: [fresh, old, ed25519.secretKey], accepted: ['old', 'new', 'ed25519'], refused: [] },
      // 2. the receivers switched; 3. herald drops the old key.
      { secrets: [fresh, ed25519.secretKey], accepted: ['new', 'ed25519'], refused: ['old'] },
    ];
    for (const { secrets, accepted, refused } of steps) {
      for (const name of accepted) {
        const sender = channel(receivers[name]!.url, secrets);
        assert.equal((await sender.send(MESSAGE, attemptContext())).status, 204, `${name} with ${secrets.length} keys`);
        await sender.close();
      }
      for (const name of refused) {
        const sender = channel(receivers[name]!.url, secrets);
        await expectFailure(sender.send(MESSAGE, attemptContext()), { retryable: false, reason: 'auth-error', status: 401 });
        await sender.close();
      }
    }
  });

  it('fails every receiver on a tampered body or timestamp', async () => {
    const receiver = receivers.old!;
    const sender = channel(receiver.url, [fresh, old, ed25519.secretKey]);
    await sender.send(MESSAGE, attemptContext());
    await sender.close();
    const request = receiver.requests.at(-1)!;
    const headers = flat(request.headers);
    const later = { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) + 1) };
    const body = request.body.replace('Zoë', 'Zoe');
    assert.notEqual(body, request.body);
    for (const [name, verifies] of Object.entries(verifiers)) {
      assert.deepEqual(verifies(request.body, headers), MESSAGE.body, `${name} accepts the request as sent`);
      assert.throws(() => verifies(body, headers), Error, `${name} refuses a changed body`);
      assert.throws(() => verifies(request.body, later), Error, `${name} refuses a changed timestamp`);
      assert.throws(() => verifies(request.body, { ...headers, 'webhook-id': 'msg_other' }), Error, `${name} refuses another id`);
    }
  });

  it('refuses with the Ed25519 receiver a request more than five minutes old', async () => {
    const receiver = receivers.ed25519!;
    const sender = channel(receiver.url, [ed25519.secretKey]);
    await sender.send(MESSAGE, attemptContext());
    await sender.close();
    const request = receiver.requests.at(-1)!;
    const sentMs = Number(request.headers['webhook-timestamp']) * 1000;
    snippet.verifyWithPublicKey(ed25519.publicKey, request.body, flat(request.headers), sentMs + 299_000);
    assert.throws(() => snippet.verifyWithPublicKey(ed25519.publicKey, request.body, flat(request.headers), sentMs + 301_000), /too old or too new/);
  });

  it('is the receiver code the README shows, word for word', () => {
    const readme = readFileSync(path.join(PACKAGE_ROOT, 'README.md'), 'utf8');
    const code = readFileSync(SNIPPET_FILE, 'utf8');
    assert.ok(readme.includes(`\`\`\`js\n${code}\`\`\``), 'README.md must quote docs/verify-herald-webhook.mjs whole, in a js block');
  });
});
