/**
 * The CLI's admin API client against real HTTP servers standing in for what
 * --api may point at by mistake: a redirect (never followed, so the token
 * goes nowhere else), a server that is not herald, a herald that fails. Each
 * gives a message that says what to do, and none carries the token.
 */
import assert from 'node:assert/strict';
import { AdminApiError, AdminClient } from '../../../src/cli/ops/admin-client.js';
import { startHttpSink, type HttpSink } from '../../helpers/sinks.js';

const TOKEN = 'client-test-token-Hw61';

/** Runs `call` and returns the AdminApiError it must reject with. */
async function failure(call: () => Promise<unknown>): Promise<AdminApiError> {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof AdminApiError, String(error));
    assert.ok(!error.message.includes(TOKEN), `no token in: ${error.message}`);
    return error;
  }
  assert.fail('expected an AdminApiError');
}

describe('admin API client (herald --api)', () => {
  let sink: HttpSink;
  let elsewhere: HttpSink;
  before(async () => {
    sink = await startHttpSink();
    elsewhere = await startHttpSink();
  });
  after(async () => {
    await Promise.all([sink.close(), elsewhere.close()]);
  });

  it('sends the token only in the Authorization header, under the base URL and its path prefix', async () => {
    sink.reply = () => ({ status: 200, body: '{"events":[],"nextCursor":null}', headers: { 'content-type': 'application/json' } });
    const client = new AdminClient(`${sink.url}/herald`, TOKEN);
    assert.deepEqual(await client.get('events', { source: 'kyc', limit: 5, after: undefined }), { events: [], nextCursor: null });
    const request = sink.requests.at(-1)!;
    assert.equal(request.path, '/herald/api/events?source=kyc&limit=5');
    assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
    await client.post('dead-letters/retry', { destination: 'crm' });
    assert.equal(sink.requests.at(-1)!.body, '{"destination":"crm"}');
    assert.equal(sink.requests.at(-1)!.headers['content-type'], 'application/json');
  });

  it('does not follow a redirect, so the token never reaches another address', async () => {
    sink.reply = () => ({ status: 307, headers: { location: `${elsewhere.url}/api/events` } });
    const error = await failure(() => new AdminClient(sink.url, TOKEN).get('events'));
    assert.equal(
      error.message,
      `${sink.url} answered 307 with a redirect to ${elsewhere.url}/api/events: give --api that URL (redirects are not followed, so the token goes nowhere else)`,
    );
    assert.equal(elsewhere.requests.length, 0);
  });

  it('says when the URL is not a herald admin API, or the herald failed', async () => {
    sink.reply = () => ({ status: 404, body: 'Not Found' });
    const notHerald = await failure(() => new AdminClient(sink.url, TOKEN).get('events'));
    assert.match(notHerald.message, /^no herald admin API at http:\/\/127\.0\.0\.1:\d+ \(404\): give --api the herald's own URL \(without \/api\)/);
    assert.equal(notHerald.status, 404);
    assert.equal(notHerald.apiError, undefined);

    sink.reply = () => ({ status: 503, body: '{"error":"temporarily unavailable, retry later"}' });
    const failed = await failure(() => new AdminClient(sink.url, TOKEN).post('dead-letters/retry'));
    assert.equal(failed.message, `the herald at ${sink.url} answered 503: temporarily unavailable, retry later`);

    sink.reply = () => ({ status: 200, body: '<html>hello</html>' });
    const html = await failure(() => new AdminClient(sink.url, TOKEN).get('events'));
    assert.equal(html.message, `${sink.url} answered 200 without JSON: is it a herald?`);
  });

  it('refuses a URL it cannot use, saying what it takes', async () => {
    const cases: Array<[string, RegExp]> = [
      ['127.0.0.1:8080', /^--api takes the http:\/\/ or https:\/\/ URL of a running herald, e\.g\. http:\/\/127\.0\.0\.1:8080, not "127\.0\.0\.1:8080"$/],
      ['localhost:8080', /not "localhost:8080"$/],
      ['ftp://herald.internal', /not "ftp:\/\/herald\.internal"$/],
      [`https://admin:${TOKEN}@herald.internal`, /^--api takes a URL without credentials: the token comes from HERALD_ADMIN_TOKEN$/],
      ['https://herald.internal/?x=1', /without a query or fragment/],
    ];
    for (const [url, message] of cases) {
      const error = await failure(async () => new AdminClient(url, TOKEN));
      assert.match(error.message, message, url);
    }
  });
});
