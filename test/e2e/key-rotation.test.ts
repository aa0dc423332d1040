/**
 * A signing-key rotation in a running herald, step by step as the README's
 * "Signing keys and rotation" describes, each step a config reload: three
 * receivers, holding the old secret, the new secret and the Ed25519 public
 * key, check every delivery with the README's receiver code
 * (docs/verify-herald-webhook.mjs), and each accepts exactly while herald
 * signs with its key.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DestinationConfig } from '../../src/core/config.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { generateEd25519KeyPair, generateHmacSecret } from '../../src/core/signing-keys.js';
import { loadSample } from '../../src/providers/samples.js';
import { loadRouting } from '../../src/app/setup.js';
import { testSources } from '../helpers/config.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { startHttpSink, type HttpSink } from '../helpers/sinks.js';

type Headers = Record<string, string | undefined>;
interface ReceiverSnippet {
  verifyWithSecret(secret: string, body: string, headers: Headers): unknown;
  verifyWithPublicKey(publicKey: string, body: string, headers: Headers): unknown;
}

describe('rotating a webhook signing key in a running herald', function () {
  this.timeout(30_000);
  const old = generateHmacSecret();
  const fresh = generateHmacSecret();
  const ed25519 = generateEd25519KeyPair();
  let sink: HttpSink;
  let herald: TestHerald;

  const hook = (secrets: string[]): DestinationConfig => ({
    name: 'hook',
    type: 'webhook',
    options: { url: `${sink.url}/crm`, secrets, allowPrivateNetwork: true },
  });

  before(async () => {
    sink = await startHttpSink(() => ({ status: 204 }));
    herald = await startTestHerald({ rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'), destinations: { hook: hook([old]) } });
  });
  after(async () => {
    await herald?.stop();
    await sink?.close();
  });

  it('every receiver accepts every delivery while herald signs with its key, through each reload', async () => {
    const snippet = (await import(pathToFileURL(path.join(PACKAGE_ROOT, 'docs', 'verify-herald-webhook.mjs')).href)) as ReceiverSnippet;
    const receivers = {
      old: (body: string, headers: Headers) => snippet.verifyWithSecret(old, body, headers),
      new: (body: string, headers: Headers) => snippet.verifyWithSecret(fresh, body, headers),
      ed25519: (body: string, headers: Headers) => snippet.verifyWithPublicKey(ed25519.publicKey, body, headers),
    };
    const steps: Array<[secrets: string[], accepting: Array<keyof typeof receivers>]> = [
      [[old], ['old']],
      [
        [fresh, old],
        ['old', 'new'],
      ], // 1. the new key is added
      [
        [fresh, old, ed25519.secretKey],
        ['old', 'new', 'ed25519'],
      ], // an Ed25519 key beside them
      [
        [fresh, ed25519.secretKey],
        ['new', 'ed25519'],
      ], // 3. the old key is removed
    ];
    for (const [index, [secrets, accepting]] of steps.entries()) {
      herald.reload(loadRouting({ ...herald.config, destinations: { hook: hook(secrets) } }));
      const payload = { ...(loadSample('legaltalent', 'kyc.session.rejected') as Record<string, unknown>), id: `evt_rotation_${index}` };
      assert.equal((await herald.postSigned(testSources().legaltalent, payload)).status, 200);
      await sink.waitFor(index + 1, 10_000);
      const request = sink.requests[index]!;
      const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
      for (const [name, verifies] of Object.entries(receivers)) {
        const accepts = (() => {
          try {
            verifies(request.body, headers);
            return true;
          } catch {
            return false;
          }
        })();
        assert.equal(accepts, accepting.includes(name as keyof typeof receivers), `step ${index + 1} (${secrets.length} keys): the ${name} receiver`);
      }
    }
  });
});
