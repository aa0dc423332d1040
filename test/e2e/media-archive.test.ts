/**
 * The media archive in a running herald (README, "Media archive"), with a
 * stand-in for FaceSign's media host on 127.0.0.1: media events' files are
 * downloaded before routing, checked (host, size, type by magic), kept in a
 * folder or the store's database (SQLite and PostgreSQL), served back
 * byte-identical through the signed link in the message, 403 for a bad or
 * expired signature, 404 once retention deleted the event; failures route the
 * event with the original link, `media.archived: null` and the reason.
 * Links are computed here independently (HKDF-SHA256, then HMAC-SHA256).
 */
import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { DestinationConfig, MediaConfig } from '../../src/core/config.js';
import type { NormalizedEvent } from '../../src/core/event.js';
import { pruneOnce } from '../../src/pipeline/upkeep/retention.js';
import { DatabaseMediaFiles, FolderMediaFiles, type MediaFiles } from '../../src/store/media-files.js';
import { freePort } from '../helpers/cli.js';
import { testSource } from '../helpers/config.js';
import { startTestHerald, tempDir, type TestHerald } from '../helpers/herald.js';
import { jpegBytes, mp4Bytes, startMediaHost, type MediaHost } from '../helpers/media-host.js';
import { createMigratedTestSchema, type TestSchema } from '../helpers/postgres.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const LINK_SECRET = 'test-media-link-secret-0123456789abcdef';
const DAY = 86_400_000;
const JPEG = jpegBytes(1500);
const MP4 = mp4Bytes(2000);
const MAX_BYTES = 4096;

const RULES = `
- name: media
  match: { provider: facesign, category: media }
  notify: [{ to: hook, template: media-available }]
`;

/** The link herald should make for media `id` valid until `exp` (unix s), signed as the README says. */
function expectedSignature(id: string, exp: number): string {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(LINK_SECRET), Buffer.alloc(0), 'herald media links v1', 32));
  return createHmac('sha256', key).update(`${id}.${exp}`).digest('base64url');
}

interface Variant {
  name: string;
  database: 'sqlite' | 'postgres';
  files: 'folder' | 'database';
}

const VARIANTS: Variant[] = [
  { name: 'SQLite, files in a folder', database: 'sqlite', files: 'folder' },
  { name: 'SQLite, files in the database', database: 'sqlite', files: 'database' },
  { name: 'PostgreSQL, files in a folder', database: 'postgres', files: 'folder' },
  { name: 'PostgreSQL, files in the database', database: 'postgres', files: 'database' },
];

for (const variant of VARIANTS) {
  describe(`media archive (${variant.name})`, function () {
    this.timeout(30_000);
    let host: MediaHost;
    let hook: HttpSink;
    let herald: TestHerald;
    let schema: TestSchema | undefined;
    let mediaDir: string;
    let files: MediaFiles;
    /** How far the stages' clock runs ahead of real time: the tests move it to a retry's time instead of waiting for it. */
    let ahead = 0;
    /** What herald logged (warnings and up), parsed. */
    const logs: Array<Record<string, unknown>> = [];

    before(async () => {
      host = await startMediaHost((p, count) => {
        if (p === '/photo.jpg') return { bytes: JPEG, contentType: 'image/jpeg' };
        if (p === '/video.mp4') return { bytes: MP4, contentType: 'video/mp4' };
        if (p === '/big.jpg') return { bytes: jpegBytes(MAX_BYTES + 1), contentType: 'image/jpeg' };
        if (p === '/not-a-jpeg.jpg') return { bytes: Buffer.from('<html><script>alert(1)</script></html>'.repeat(10)), contentType: 'image/jpeg' };
        if (p === '/flaky.jpg') return count < 1 ? { status: 503 } : { bytes: JPEG, contentType: 'image/jpeg' };
        if (p === '/down.jpg') return { status: 503 };
        return { status: 404 };
      });
      hook = await startHttpSink();
      mediaDir = tempDir('herald-media-');
      if (variant.database === 'postgres') schema = await createMigratedTestSchema();
      const rulesDir = tempDir('herald-rules-');
      writeFileSync(path.join(rulesDir, 'media.yaml'), RULES);
      const port = await freePort();
      const media: MediaConfig = {
        store: variant.files === 'folder' ? { kind: 'folder', dir: mediaDir } : { kind: 'database' },
        maxBytes: MAX_BYTES,
        allowedHosts: ['127.0.0.1'],
        allowPrivateNetwork: true,
        linkTtlMs: 7 * DAY,
        timeoutMs: 5000,
        linkSecret: LINK_SECRET,
      };
      const destination: DestinationConfig = {
        name: 'hook',
        type: 'webhook',
        options: { url: hook.url, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', format: 'standard', allowPrivateNetwork: true },
      };
      herald = await startTestHerald(
        {
          ...(schema && { store: schema.url }),
          server: {
            port,
            host: '127.0.0.1',
            bodyLimitBytes: 256 * 1024,
            requestTimeoutMs: 15_000,
            shutdownGraceMs: 5_000,
            trustProxy: false,
            publicUrl: `http://127.0.0.1:${port}`,
          },
          rulesDir,
          destinations: { hook: destination },
          sources: { facesign: testSource('facesign', 'facesign') },
          media,
        },
        { stageClock: () => Date.now() + ahead },
        pino(
          { level: 'warn' },
          new Writable({
            write: (chunk, _encoding, done) => {
              logs.push(JSON.parse(String(chunk)) as Record<string, unknown>);
              done();
            },
          }),
        ),
      );
      files = variant.files === 'folder' ? new FolderMediaFiles(mediaDir) : new DatabaseMediaFiles(herald.store);
    });

    after(async () => {
      await herald?.stop();
      await schema?.drop();
      await hook?.close();
      await host?.close();
    });

    let sequence = 0;
    /** Posts a FaceSign media event for `file` on `base` (the media host by default); returns its FaceSign event id. */
    async function postMedia(file: string, { contentType = 'image/jpeg', expires = Date.now() + 15 * 60_000, base = host.url } = {}): Promise<string> {
      const id = `evt_media_${variant.database}_${variant.files}_${++sequence}`;
      const payload = {
        id,
        type: contentType.startsWith('video/') ? 'media.user_video' : 'media.user_photo',
        createdAt: Date.now(),
        sessionId: 'sess_media',
        media: { id: `med_${sequence}`, createdAt: Date.now(), url: `${base}${file}?X-Signature=provider-secret`, expires, contentType },
      };
      assert.equal((await herald.postSigned(herald.config.sources.facesign!, payload)).status, 200);
      return id;
    }

    /** The delivered webhook body's `data` of FaceSign event `id`, once delivered. */
    async function delivered(id: string): Promise<{ media: Record<string, string | null> }> {
      let found: { media: Record<string, string | null> } | undefined;
      await waitUntil(
        () => {
          found = hook.requests
            .map((r) => (JSON.parse(r.body) as { data: { provider_event_id: string; media: Record<string, string | null> } }).data)
            .find((d) => d.provider_event_id === id);
          return found !== undefined;
        },
        20_000,
        `the notification of ${id}`,
      );
      return found!;
    }

    async function storedEvent(providerEventId: string): Promise<NormalizedEvent> {
      const events = await herald.store.listEvents({ subject: 'sess_media', limit: 1000 });
      return events.find((e) => e.providerEventId === providerEventId)!;
    }

    /** Waits until herald has scheduled retry number `n` of FaceSign event `providerEventId`'s download, then moves its clock to it. */
    async function skipToRetry(providerEventId: string, n: number): Promise<void> {
      const { id } = await storedEvent(providerEventId);
      let retryAt = 0;
      await waitUntil(
        () => {
          const scheduled = logs.filter((line) => line.msg === 'media download failed; will retry' && line.eventId === id);
          retryAt = scheduled.length >= n ? Date.parse(String(scheduled[n - 1]!.retryAt)) : 0;
          return retryAt > 0;
        },
        10_000,
        `retry ${n} of ${providerEventId}`,
      );
      ahead = Math.max(ahead, retryAt - Date.now());
      herald.enrich.wake();
    }

    it('archives a JPEG and an MP4 and serves them back byte-identical through the signed link in the message', async () => {
      const photo = await postMedia('/photo.jpg');
      const video = await postMedia('/video.mp4', { contentType: 'video/mp4' });
      for (const [id, bytes, type] of [
        [photo, JPEG, 'image/jpeg'],
        [video, MP4, 'video/mp4'],
      ] as const) {
        const data = await delivered(id);
        const event = await storedEvent(id);
        const archived = event.media!.archived!;
        assert.equal(archived.bytes, bytes.length);
        assert.equal(archived.contentType, type);
        const url = new URL(data.media.url!);
        assert.equal(url.origin + url.pathname, `${herald.url}/media/${event.id}`);
        assert.equal(url.searchParams.get('sig'), expectedSignature(event.id, Number(url.searchParams.get('exp'))));
        assert.ok(Math.abs(Number(url.searchParams.get('exp')) * 1000 - (Date.now() + 7 * DAY)) < 60_000, 'the link works for linkTtl');
        assert.equal(data.media.sha256, archived.sha256);
        assert.equal(data.media.original_url, event.media!.url);

        const reply = await fetch(data.media.url!);
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.get('content-type'), type);
        assert.equal(reply.headers.get('x-content-type-options'), 'nosniff');
        assert.match(reply.headers.get('content-disposition')!, /^inline; filename="[0-9a-f-]{36}"$/);
        assert.ok(Buffer.from(await reply.arrayBuffer()).equals(bytes), 'the exact bytes');
      }
      if (variant.files === 'folder') assert.equal(readdirSync(mediaDir).filter((f) => !f.startsWith('.')).length, 2);
      else assert.deepEqual(readdirSync(mediaDir), [], 'nothing in the folder when the database keeps the files');
    });

    it('answers 403 for a bad, tampered or expired signature, and 404 for an unknown id, never a listing', async () => {
      const id = await postMedia('/photo.jpg');
      await delivered(id);
      const event = await storedEvent(id);
      const good = Math.floor(Date.now() / 1000) + 3600;
      const link = (exp: number, sig: string, mediaId = event.id) => `${herald.url}/media/${mediaId}?exp=${exp}&sig=${sig}`;
      assert.equal((await fetch(link(good, expectedSignature(event.id, good)))).status, 200, 'a link signed as documented works');
      assert.equal((await fetch(link(good, 'AAAA'))).status, 403);
      assert.equal((await fetch(link(good + 1, expectedSignature(event.id, good)))).status, 403, 'exp changed');
      const past = Math.floor(Date.now() / 1000) - 1;
      const expired = await fetch(link(past, expectedSignature(event.id, past)));
      assert.equal(expired.status, 403);
      assert.match(await expired.text(), /expired/);
      assert.equal((await fetch(`${herald.url}/media/${event.id}`)).status, 403, 'no signature');
      const unknown = '01900000-0000-7000-8000-000000000000';
      assert.equal((await fetch(link(good, expectedSignature(unknown, good), unknown))).status, 404);
      for (const probe of ['..', '.', '%2e%2e%2fherald.db', '..%2F..%2Fetc%2Fpasswd']) {
        const reply = await fetch(link(good, expectedSignature(decodeURIComponent(probe), good), probe));
        assert.ok([403, 404].includes(reply.status), `${probe}: ${reply.status}`);
      }
      assert.equal((await fetch(`${herald.url}/media/`)).status, 404, 'no listing');
    });

    it('deletes the file with its event (retention): the link then answers 404', async () => {
      const id = await postMedia('/photo.jpg');
      const data = await delivered(id);
      const event = await storedEvent(id);
      await waitUntil(async () => (await herald.store.listDeliveries({ eventId: event.id })).every((d) => d.status !== 'pending'), 10_000, 'delivered');
      assert.ok(await files.get(event.id));
      const pruned = await pruneOnce(herald.store, DAY, Date.now() + 2 * DAY, undefined, files);
      assert.ok(pruned.media >= 1);
      assert.equal(await files.get(event.id), undefined);
      assert.equal(await herald.store.getMedia(event.id), undefined);
      if (variant.files === 'folder') assert.equal(existsSync(path.join(mediaDir, event.id)), false);
      assert.equal((await fetch(data.media.url!)).status, 404);
    });

    if (variant.database !== 'sqlite' || variant.files !== 'folder') return;

    it('retries a 503 and archives the file on a later try', async () => {
      const id = await postMedia('/flaky.jpg');
      await skipToRetry(id, 1);
      const data = await delivered(id);
      assert.match(data.media.url!, /\/media\//);
      assert.equal(host.requests.filter((p) => p === '/flaky.jpg').length, 2);
    });

    /** The event is routed with the original link, archived: null and a reason matching `reason`. */
    async function refused(id: string, reason: RegExp): Promise<void> {
      const data = await delivered(id);
      const event = await storedEvent(id);
      assert.equal(event.media!.archived, null);
      assert.match(event.media!.archiveError!, reason);
      assert.equal(data.media.url, event.media!.url, 'the message carries the original link');
      assert.equal(data.media.archive_error, event.media!.archiveError);
      assert.equal(data.media.sha256, null);
      assert.equal(await herald.store.getMedia(event.id), undefined, 'nothing kept');
      assert.equal(existsSync(path.join(mediaDir, event.id)), false);
      assert.ok(!event.media!.archiveError!.includes('provider-secret'), 'never the URL');
    }

    it('refuses a file larger than maxBytes', async () => {
      await refused(await postMedia('/big.jpg'), /larger than media\.maxBytes \(4096 bytes\)/);
    });

    it('refuses bytes whose magic is not the type the event says', async () => {
      await refused(await postMedia('/not-a-jpeg.jpg'), /not of a type herald recognises \(the event says image\/jpeg\)/);
      await refused(await postMedia('/photo.jpg', { contentType: 'video/mp4' }), /bytes are image\/jpeg, but the event says video\/mp4/);
    });

    it('refuses a host not in allowedHosts, without asking it', async () => {
      const before = host.requests.length;
      await refused(await postMedia('/photo.jpg', { base: host.url.replace('127.0.0.1', 'localhost') }), /host "localhost" is not in media\.allowedHosts/);
      assert.equal(host.requests.length, before);
    });

    it('gives up on a URL that expired, with a clear reason', async () => {
      const before = host.requests.length;
      await refused(await postMedia('/photo.jpg', { expires: Date.now() - 1000 }), /^the media URL expired at .*, before herald could download it$/);
      assert.equal(host.requests.length, before);
    });

    it('retries a failing host until the URL expires, then gives up saying so', async () => {
      // Tries at 0 and 1 s (herald's clock); the next would be at 3 s, past the expiry.
      const id = await postMedia('/down.jpg', { expires: Date.now() + ahead + 2500 });
      await skipToRetry(id, 1);
      await refused(id, /expired at .* before the download succeeded \(last try: the media host answered HTTP 503\)/);
      assert.ok(host.requests.filter((p) => p === '/down.jpg').length >= 2);
    });
  });
}
