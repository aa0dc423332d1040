/**
 * Removing a destination from the config: its pending deliveries become dead
 * letters with the reason `destination-removed` when the config takes effect
 * (start-up, a reload) and before each retention pass, so they wait for
 * nobody and retention applies to their events; retried once the destination
 * is back, they are sent.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { silentLogger } from '../../../src/core/log.js';
import { PACKAGE_ROOT } from '../../../src/core/paths.js';
import { pruneOnce } from '../../../src/pipeline/upkeep/retention.js';
import { loadRouting } from '../../../src/app/setup.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/store.js';
import { startTestHerald, tempDir, type TestHerald } from '../../helpers/herald.js';
import { startHttpSink, waitUntil, type HttpSink } from '../../helpers/sinks.js';
import { delivery, event } from '../../store/contract.js';

const DAY = 86_400_000;
const REMOVED = 'destination-removed: destination "gone" is no longer in the config; retry the delivery once it is back';

/** Stores an event received `receivedAt` and routes it to a destination named "gone"; returns the delivery's id. */
async function routedToGone(store: Store, receivedAt = Date.now()): Promise<string> {
  const e = event('facesign', { receivedAt: new Date(receivedAt).toISOString() });
  const made = delivery('gone');
  await store.insertEvent({ event: e, dedupeKey: e.id, dedupeUntilMs: Date.now() + DAY });
  await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [made] }]);
  return made.id;
}

describe('a destination removed from the config', function () {
  this.timeout(20_000);
  let dir: string;
  let sink: HttpSink;
  let herald: TestHerald | undefined;

  beforeEach(async () => {
    dir = tempDir();
    sink = await startHttpSink(() => ({ status: 200 }));
  });
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hook = () => ({
    rulesDir: path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'),
    destinations: {
      hook: {
        name: 'hook',
        type: 'webhook' as const,
        options: { url: `${sink.url}/hook`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
      },
    },
  });
  const status = async (id: string) => (await herald!.store.getDelivery(id))?.status;

  it('makes dead letters of its pending deliveries at start-up, and retention then prunes their events', async () => {
    const file = path.join(dir, 'herald.db');
    const seeded = new SqliteStore(file);
    await seeded.migrate();
    const id = await routedToGone(seeded, Date.now() - 40 * DAY);
    await seeded.close();

    herald = await startTestHerald({ ...hook(), store: `sqlite:${file}` });
    const dead = await herald.store.getDelivery(id);
    assert.equal(dead?.status, 'dead', 'dead before the stages start');
    assert.equal(dead?.lastError, REMOVED);
    assert.equal((await pruneOnce(herald.store, 30 * DAY)).events, 1, 'the event is past the retention, with nothing pending');
  });

  it('makes dead letters of them when a reload removes it, and a retry sends them once it is back', async () => {
    const gone = {
      name: 'gone',
      type: 'webhook' as const,
      options: { url: `${sink.url}/gone`, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allowPrivateNetwork: true },
    };
    herald = await startTestHerald({ ...hook(), destinations: { ...hook().destinations, gone } });
    herald.deliver.pause('gone');
    const id = await routedToGone(herald.store);
    assert.equal(await status(id), 'pending');

    herald.reload(loadRouting({ ...herald.config, destinations: hook().destinations }));
    await waitUntil(async () => (await status(id)) === 'dead', 5000, 'the delivery to become a dead letter');
    assert.equal((await herald.store.getDelivery(id))?.lastError, REMOVED);

    herald.reload(loadRouting(herald.config));
    herald.deliver.resume('gone');
    assert.equal(await herald.store.retryDelivery(id, Date.now()), true);
    herald.deliver.wake();
    await sink.waitFor(1, 5000);
    assert.equal(sink.requests[0]!.path, '/gone');
    await waitUntil(async () => (await status(id)) === 'delivered', 5000, 'the retried delivery to be delivered');
  });

  it('makes dead letters of them before each retention pass, made before the config took effect only', async () => {
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      await store.migrate();
      const old = await routedToGone(store, Date.now() - 40 * DAY);
      const since = Date.now() + 1;
      const pruned = await pruneOnce(store, 30 * DAY, since + 1, { configured: { names: ['hook'], since }, log: silentLogger() });
      assert.deepEqual(pruned, { events: 1, keys: 0, media: 0 });
      assert.equal(await store.getDelivery(old), undefined);
      const newer = await routedToGone(store, Date.now() - 40 * DAY);
      const configuredAtItsMaking = { names: ['hook'], since: (await store.getDelivery(newer))!.createdAt };
      assert.equal(
        (await pruneOnce(store, 30 * DAY, Date.now(), { configured: configuredAtItsMaking, log: silentLogger() })).events,
        0,
        'made after the config took effect (perhaps by another process with a newer config): left alone',
      );
      assert.equal((await store.getDelivery(newer))?.status, 'pending');
    } finally {
      await store.close();
    }
  });
});
