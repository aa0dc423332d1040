/**
 * bench/wal-frames.ts counts what ingest's group commits write to the WAL:
 * page counts, so they can be checked exactly where times could not.
 */
import assert from 'node:assert/strict';
import { EVENT_INDEXES, walFrames } from '../../bench/wal-frames.js';

describe('bench: WAL frames per commit', function () {
  this.timeout(60_000);

  it('counts the pages a batch of events changes, fewer without the secondary indexes', async () => {
    const shipped = await walFrames({ batch: 16, commits: 8 });
    const bare = await walFrames({ batch: 16, commits: 8, drop: EVENT_INDEXES });
    // At least the events' own pages (16 stored events of about 450 bytes: two 4 KiB pages) and one per index.
    assert.ok(shipped.framesPerCommit >= 2 + EVENT_INDEXES.length, `${shipped.framesPerCommit} frames per commit`);
    assert.ok(bare.framesPerCommit >= 2, `${bare.framesPerCommit} frames per commit without the indexes`);
    // Each secondary index adds at least a page to every commit.
    assert.ok(shipped.framesPerCommit - bare.framesPerCommit >= EVENT_INDEXES.length, `${shipped.framesPerCommit} against ${bare.framesPerCommit}`);
    assert.equal(Math.round(shipped.bytesPerEvent), Math.round((shipped.framesPerCommit * (4096 + 24)) / 16));
  });
});
