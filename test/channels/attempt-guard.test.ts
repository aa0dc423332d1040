/**
 * The one exit of every attempt: only DeliveryError leaves it, and no secret
 * leaves with it, whatever the underlying library put in its message.
 */
import assert from 'node:assert/strict';
import { guardAttempt } from '../../src/channels/attempt-guard.js';
import { urlSecrets } from '../../src/channels/destination-secrets.js';
import { EXCERPT_CHARS } from '../../src/channels/http-status.js';
import { SecretScrubber } from '../../src/channels/secret-scrubber.js';
import { DeliveryError } from '../../src/core/errors.js';
import { SLACK_TOKEN, SMTP_PASSWORD, SMTP_PASSWORD_IN_URL, assertNoSecrets, expectFailure } from './helpers.js';

const SMTP_URL = `smtps://herald:${SMTP_PASSWORD_IN_URL}@smtp.example.com:465`;
const SLACK_URL = `https://hooks.slack.com/services/T0/B0/${SLACK_TOKEN}`;
const SECRETS = new SecretScrubber([
  ...urlSecrets(SMTP_URL, { pathSegments: 'none', queryValues: false }),
  ...urlSecrets(SLACK_URL, { pathSegments: 'all', publicSegments: ['services'], queryValues: true }),
]);

describe('guardAttempt', () => {
  it('turns anything else thrown into a retryable DeliveryError, scrubbed', async () => {
    const attempt = guardAttempt(SECRETS, async () => {
      throw new TypeError(`Failed to parse URL from ${SLACK_URL} (login ${SMTP_PASSWORD})`);
    });
    const error = await expectFailure(attempt, { retryable: true, reason: 'network' });
    assert.equal(error.message, 'unexpected failure: Failed to parse URL from [redacted] (login [redacted])');
  });

  it('scrubs the message and excerpt of a DeliveryError and keeps its decision and details', async () => {
    const attempt = guardAttempt(SECRETS, async () => {
      throw DeliveryError.permanent('client-error', `refused ${SMTP_URL}`, {
        status: 404,
        retryAfterMs: 5,
        excerpt: `Cannot POST /services/T0/B0/${SLACK_TOKEN}`,
      });
    });
    const error = await expectFailure(attempt, { retryable: false, reason: 'client-error', status: 404 });
    assert.equal(error.message, 'refused [redacted]');
    assert.deepEqual(error.details, { status: 404, retryAfterMs: 5, excerpt: 'Cannot POST [redacted]' });
  });

  it('scrubs the excerpt of a success', async () => {
    const result = await guardAttempt(SECRETS, async () => ({ status: 200, excerpt: `ok ${SMTP_PASSWORD_IN_URL}` }));
    assert.deepEqual(result, { status: 200, excerpt: 'ok [redacted]' });
    assertNoSecrets(result.excerpt!);
  });

  it('cuts an excerpt to its length only after scrubbing, so no secret runs past the cut', async () => {
    const padding = 'x'.repeat(EXCERPT_CHARS - 5);
    const result = await guardAttempt(SECRETS, async () => ({ status: 200, excerpt: `${padding}${SLACK_TOKEN} and more` }));
    assert.equal(result.excerpt, `${padding}[reda`);
    assert.equal(result.excerpt!.length, EXCERPT_CHARS);
  });

  it("scrubs a secret cut off at the end of the answer's head, when scrubbing brings that end into the excerpt", async () => {
    // 40 echoes (800 characters) shrink to 400: the head's last characters, the start of a 41st, are kept.
    const head = `${SLACK_TOKEN.repeat(40)}${SLACK_TOKEN.slice(0, 9)}`;
    const result = await guardAttempt(SECRETS, async () => ({ status: 200, excerpt: head }));
    assert.equal(result.excerpt, '[redacted]'.repeat(41));
  });
});
