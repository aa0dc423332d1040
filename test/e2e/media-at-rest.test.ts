/**
 * Archived media at rest (README, "Encryption at rest", "Erasure"), in a
 * running herald with a stand-in media host: with a data key the kept bytes
 * (a file in a folder, or a row of the database) hold no byte of the image;
 * the signed link serves it back byte-identical; `rotate` seals the files
 * anew, after which a herald with only the new key serves them; erasing the
 * subject deletes its file and its link answers 404, another subject's stays.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DestinationConfig, HeraldConfig, MediaConfig } from '../../src/core/config.js';
import { DataKeyring, keyIdOf, sealedKeyId } from '../../src/core/sealing.js';
import { openMediaFiles, openUnsealedStore } from '../../src/app/open-store.js';
import { rotateDataKey } from '../../src/pipeline/operator/rotate-data-key.js';
import type { Store } from '../../src/store/store.js';
import { freePort } from '../helpers/cli.js';
import { testSource } from '../helpers/config.js';
import { startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { jpegBytes, startMediaHost, type MediaHost } from '../helpers/media-host.js';
import { createTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const TOKEN = 'media-at-rest-token';
const JPEG = jpegBytes(1500, 7);
/** A run of the image's bytes that no sealed file may contain. */
const IMAGE_PART = JPEG.subarray(100, 140);
const RULES = `
- name: media
  match: { provider: facesign, category: media }
  notify: [{ to: hook, template: media-available }]
`;

for (const variant of [
  { database: 'sqlite', files: 'folder' },
  { database: 'postgres', files: 'database' },
] as const) {
  describe(`archived media at rest (${variant.database}, files in ${variant.files === 'folder' ? 'a folder' : 'the database'})`, function () {
    this.timeout(60_000);
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    let host: MediaHost;
    let hook: HttpSink;
    let schema: TestSchema | undefined;
    let herald: TestHerald | undefined;
    let overrides: Partial<HeraldConfig>;
    let media: MediaConfig;
    let storeUrl: string;

    before(async () => {
      host = await startMediaHost((p) => (p === '/photo.jpg' ? { bytes: JPEG, contentType: 'image/jpeg' } : { status: 404 }));
      hook = await startHttpSink();
      const dir = tempDir('herald-media-at-rest-');
      if (variant.database === 'postgres') schema = await createTestSchema();
      storeUrl = schema ? schema.url : `sqlite:${path.join(dir, 'herald.db')}`;
      writeFileSync(path.join(dir, 'media.yaml'), RULES);
      const port = await freePort();
      media = {
        store: variant.files === 'folder' ? { kind: 'folder', dir: path.join(dir, 'media') } : { kind: 'database' },
        maxBytes: 4096,
        allowedHosts: ['127.0.0.1'],
        allowPrivateNetwork: true,
        linkTtlMs: 86_400_000,
        timeoutMs: 5000,
        linkSecret: 'media-at-rest-link-secret-0123456789',
      };
      const destination: DestinationConfig = {
        name: 'hook',
        type: 'webhook',
        options: { url: hook.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true },
      };
      overrides = {
        store: storeUrl,
        server: {
          port,
          host: '127.0.0.1',
          bodyLimitBytes: 256 * 1024,
          requestTimeoutMs: 15_000,
          shutdownGraceMs: 5_000,
          trustProxy: false,
          publicUrl: `http://127.0.0.1:${port}`,
        },
        rulesDir: dir,
        destinations: { hook: destination },
        sources: { facesign: testSource('facesign', 'facesign') },
        media,
      };
    });
    after(async () => {
      await herald?.stop();
      await schema?.drop();
      await hook?.close();
      await host?.close();
    });

    const start = async (keys: DataKeyring) => {
      herald = await startTestHerald(overrides, { dataKeys: keys, adminToken: TOKEN });
    };
    const stop = async () => {
      await herald?.close();
      herald = undefined;
    };
    /** The unsealed store under herald's, for what it keeps as it is. */
    async function withRawStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
      const store = await openUnsealedStore(storeUrl);
      try {
        return await work(store);
      } finally {
        await store.close();
      }
    }
    const rawFile = (id: string) => withRawStore(async (store) => openMediaFiles(media, store).get(id));

    /** Posts a FaceSign photo event about `subject`; returns herald's event id and the link its notification carries. */
    async function postPhoto(subject: string): Promise<{ id: string; link: string }> {
      const providerEventId = `evt_${subject}_${randomBytes(3).toString('hex')}`;
      const payload = {
        id: providerEventId,
        type: 'media.user_photo',
        createdAt: Date.now(),
        sessionId: subject,
        media: {
          id: `med_${providerEventId}`,
          createdAt: Date.now(),
          url: `${host.url}/photo.jpg?X-Signature=provider-secret`,
          expires: Date.now() + 15 * 60_000,
          contentType: 'image/jpeg',
        },
      };
      assert.equal((await herald!.postSigned(herald!.config.sources.facesign!, payload)).status, 200);
      let link: string | undefined;
      await waitUntil(
        () => {
          const data = hook.requests
            .map((r) => (JSON.parse(r.body) as { data: { provider_event_id: string; media: { url: string } } }).data)
            .find((d) => d.provider_event_id === providerEventId);
          link = data?.media.url;
          return link !== undefined;
        },
        20_000,
        `the notification of ${providerEventId}`,
      );
      return { id: new URL(link!).pathname.split('/').at(-1)!, link: link! };
    }

    async function served(link: string): Promise<Buffer | number> {
      const reply = await fetch(link);
      return reply.status === 200 ? Buffer.from(await reply.arrayBuffer()) : reply.status;
    }

    it('keeps no byte of the image, serves it intact, seals it anew on rotation, and erases it with its subject', async () => {
      await start(new DataKeyring(k1));
      const gone = await postPhoto('sess_gone');
      const kept = await postPhoto('sess_kept');
      for (const { id, link } of [gone, kept]) {
        assert.deepEqual(await served(link), JPEG, 'the link serves the exact bytes');
        const raw = (await rawFile(id))!;
        assert.equal(sealedKeyId(raw), keyIdOf(k1));
        assert.equal(raw.indexOf(IMAGE_PART), -1, 'the kept bytes hold none of the image');
      }
      if (schema) {
        const rows = await schema.query<{ hex: string }>("SELECT encode(content, 'hex') AS hex FROM media_content");
        assert.equal(rows.length, 2);
        for (const row of rows) assert.ok(!row.hex.includes(IMAGE_PART.toString('hex')));
      } else {
        assert.equal(readFileSync(path.join((media.store as { dir: string }).dir, gone.id)).indexOf(IMAGE_PART), -1);
      }
      await stop();

      // Rotation, on the store as `herald keys rotate` does it.
      const report = await withRawStore((store) => rotateDataKey(store, new DataKeyring(k2, [k1]), { mediaFiles: openMediaFiles(media, store) }));
      assert.equal(report.resealed.media, 2);
      assert.equal(sealedKeyId((await rawFile(kept.id))!), keyIdOf(k2));

      // The new key alone serves them; erasure removes one subject's file.
      await start(new DataKeyring(k2));
      assert.deepEqual(await served(kept.link), JPEG);
      const reply = await fetch(`${herald!.url}/api/subjects/sess_gone`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
      const erased = (await reply.json()) as { removed: { events: number; media: number } };
      assert.equal(erased.removed.events, 1);
      assert.equal(erased.removed.media, 1);
      assert.equal(await served(gone.link), 404);
      assert.equal(await rawFile(gone.id), undefined);
      if (!schema) assert.equal(existsSync(path.join((media.store as { dir: string }).dir, gone.id)), false);
      assert.equal(await herald!.store.getMedia(gone.id), undefined);
      assert.deepEqual(await served(kept.link), JPEG, 'another subject keeps its file');
    });
  });
}
