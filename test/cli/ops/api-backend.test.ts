/**
 * The API backend names what it acts on in the URL path: an id or name that
 * is empty, `.` or `..` would name another route (`events/` is the list of
 * events), so it is refused with a clear error before any request is sent.
 */
import assert from 'node:assert/strict';
import { ApiBackend } from '../../../src/cli/ops/api-backend.js';
import { OpsError } from '../../../src/cli/ops/backend.js';
import { startHttpSink, type HttpSink } from '../../helpers/sinks.js';

describe('herald --api: ids and names in the path', () => {
  let sink: HttpSink;
  before(async () => {
    // Answers like a herald's event list: what `GET /api/events/` returns.
    sink = await startHttpSink(() => ({ status: 200, body: '{"events":[],"nextCursor":null}', headers: { 'content-type': 'application/json' } }));
  });
  after(() => sink.close());

  for (const id of ['', '.', '..']) {
    it(`refuses ${JSON.stringify(id)} as an event id, delivery id or destination before sending anything`, async () => {
      const backend = new ApiBackend(sink.url, 'api-backend-test-token');
      const refused = (message: string) => (error: unknown) => error instanceof OpsError && error.message === message;
      await assert.rejects(backend.eventDetail(id), refused(`give an event id: "${id}" is not one`));
      await assert.rejects(backend.retryDelivery(id), refused(`give a delivery id: "${id}" is not one`));
      await assert.rejects(backend.setPaused(id, true), refused(`give a destination name: "${id}" is not one`));
      assert.equal(sink.requests.length, 0);
    });
  }
});
