/**
 * herald signs with a few lines of node:crypto; the official library is the judge.
 */
import assert from 'node:assert/strict';
import { Webhook } from 'standardwebhooks';
import { signStandardWebhook, standardWebhooksKey } from '../../src/channels/standard-webhooks.js';
import { WEBHOOK_SECRET } from './helpers.js';

describe('signStandardWebhook', () => {
  const bodies = ['{"id":"evt_1"}', '{"name":"Zoë 🦉","note":"line\\nbreak"}', ''];

  for (const body of bodies) {
    it(`matches the reference library for ${JSON.stringify(body)}`, () => {
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = signStandardWebhook(WEBHOOK_SECRET, 'msg_1', timestamp, body);
      const reference = new Webhook(WEBHOOK_SECRET);
      assert.equal(signature, reference.sign('msg_1', new Date(timestamp * 1000), body));
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(timestamp), 'webhook-signature': signature };
      reference.verify(body, headers); // throws if it does not verify
    });
  }

  it('keys the HMAC with the decoded bytes of the secret, not its text', () => {
    assert.deepEqual(standardWebhooksKey(WEBHOOK_SECRET), Buffer.from(WEBHOOK_SECRET.slice('whsec_'.length), 'base64'));
  });

  it('refuses secrets without the prefix or of the wrong size', () => {
    for (const secret of ['c2VjcmV0', `whsec_${Buffer.alloc(8).toString('base64')}`, `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      assert.throws(() => standardWebhooksKey(secret), /24 to 64 random bytes/);
    }
  });
});
