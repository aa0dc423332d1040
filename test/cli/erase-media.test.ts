/**
 * The commands on the store that reach archived media find them where the
 * config's `media` section says (README, "Erasure", "Encryption at rest"):
 * `herald erase --subject` deletes the subject's files from the media folder
 * with their records, and no other subject's; `herald keys rotate` seals the
 * files in that folder. (Through a running herald, media-at-rest.test.ts.)
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateDataKey, keyIdOf, sealedKeyId } from '../../src/core/sealing.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { FolderMediaFiles } from '../../src/store/media-files.js';
import { SHIPPED_TEMPLATES_DIR } from '../helpers/config.js';
import { runHerald } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';
import { jpegBytes } from '../helpers/media-host.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { event } from '../store/contract.js';

const JPEG = jpegBytes(1200, 3);
const IMAGE_PART = JPEG.subarray(100, 140);

describe('herald erase and keys rotate on the store, with media in a folder', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  let mediaDir: string;
  const events: Record<string, NormalizedEvent> = {};

  async function withStore<T>(work: (store: SqliteStore) => Promise<T>): Promise<T> {
    const store = new SqliteStore(path.join(dir, 'herald.db'));
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  }
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runHerald(['--config', config, ...args], { HERALD_API_URL: undefined, ...env });

  before(async () => {
    dir = tempDir();
    mediaDir = path.join(dir, 'media');
    config = path.join(dir, 'herald.config.yaml');
    writeFileSync(
      config,
      [
        'server: { port: 0, host: 127.0.0.1, publicUrl: "https://herald.example.com" }',
        'store: sqlite:./herald.db',
        `rules: ${JSON.stringify(path.join(PACKAGE_ROOT, 'test/fixtures/one-webhook-rule'))}`,
        `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
        'sources:',
        '  facesign: { provider: facesign, secrets: ["a-facesign-secret"] }',
        'destinations:',
        '  hook: { type: webhook, url: "http://127.0.0.1:9/hook", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", allowPrivateNetwork: true }',
        'media: { store: "file:./media", allowedHosts: [media.facesign.ai] }',
      ].join('\n'),
    );
    const files = new FolderMediaFiles(mediaDir);
    await withStore(async (store) => {
      await store.migrate();
      for (const subject of ['sess_gone', 'sess_kept']) {
        const e = event('facesign', { subject, type: 'media.user_photo', category: 'media', outcome: 'completed' });
        events[subject] = e;
        await store.insertEvent({ event: e, dedupeKey: `key-${subject}`, dedupeUntilMs: Date.now() + 60_000 });
        await store.markRouted([{ eventId: e.id, rulesVersion: 'v1', deliveries: [] }]);
        await store.putMedia({
          id: e.id,
          eventId: e.id,
          subject,
          sha256: 'f'.repeat(64),
          bytes: JPEG.length,
          contentType: 'image/jpeg',
          createdAt: Date.now(),
        });
        await files.put(e.id, JPEG);
      }
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("erase deletes the subject's files from the configured folder, then rotate seals the others there", async () => {
    const gone = events.sess_gone!.id;
    const kept = events.sess_kept!.id;
    assert.ok(existsSync(path.join(mediaDir, gone)));

    const dry = await cli(['erase', '--subject', 'sess_gone', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(JSON.parse(dry.stdout).removed.media, 1, 'a dry run counts the file');
    assert.ok(existsSync(path.join(mediaDir, gone)), 'and leaves it');

    const erased = await cli(['erase', '--subject', 'sess_gone', '--json']);
    assert.equal(erased.code, 0, erased.stderr);
    assert.deepEqual(JSON.parse(erased.stdout).removed, { events: 1, deliveries: 0, attempts: 0, dedupeKeys: 1, media: 1 });
    assert.equal(existsSync(path.join(mediaDir, gone)), false, 'the file is gone from the folder');
    await withStore(async (store) => {
      assert.equal(await store.getMedia(gone), undefined);
      assert.equal((await store.getMedia(kept))?.subject, 'sess_kept');
    });
    assert.ok(readFileSync(path.join(mediaDir, kept)).equals(JPEG), "another subject's file stays as it was");

    const key = generateDataKey();
    const rotated = await cli(['keys', 'rotate', '--json'], { HERALD_DATA_KEY: key });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(JSON.parse(rotated.stdout).resealed.media, 1);
    const sealed = readFileSync(path.join(mediaDir, kept));
    assert.equal(sealedKeyId(sealed), keyIdOf(Buffer.from(key, 'base64')));
    assert.equal(sealed.indexOf(IMAGE_PART), -1, 'the file holds none of the image');
  });
});
