import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import type { NormalizedEvent } from '../../../src/core/event.js';
import { newEventId } from '../../../src/core/ids.js';
import { pruneOnce } from '../../../src/pipeline/upkeep/retention.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../../helpers/herald.js';

const DAY = 86_400_000;

function event(receivedAt: number): NormalizedEvent {
  const at = new Date(receivedAt).toISOString();
  return {
    specversion: '1.0',
    id: newEventId(),
    source: 'kyc',
    provider: 'legaltalent',
    type: 'kyc.session.created',
    category: 'verification',
    outcome: 'started',
    subject: 's',
    time: at,
    receivedAt: at,
    providerEventId: null,
    datacontenttype: 'application/json',
    data: {},
  };
}

describe('retention pruning', () => {
  it('deletes routed events past the retention in batches, and keeps newer ones and unrouted ones', async () => {
    const dir = tempDir();
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      await store.migrate();
      const now = Date.now();
      const old = Array.from({ length: 1200 }, () => event(now - 40 * DAY));
      const recent = Array.from({ length: 10 }, () => event(now - DAY));
      const oldUnrouted = event(now - 40 * DAY);
      for (const [i, e] of [...old, ...recent, oldUnrouted].entries()) {
        await store.insertEvent({ event: e, dedupeKey: `k${i}`, dedupeUntilMs: i < old.length ? now - 1 : now + DAY });
      }
      await store.markRouted([...old, ...recent].map((e) => ({ eventId: e.id, rulesVersion: 'v', deliveries: [] })));
      const pruned = await pruneOnce(store, 30 * DAY, now);
      assert.equal(pruned.events, 1200);
      assert.equal(pruned.keys, 1200);
      assert.equal(await store.countEvents(), 11);
      assert.ok(await store.getEvent(oldUnrouted.id), 'an event not yet routed is kept');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
