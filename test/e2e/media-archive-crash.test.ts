/**
 * The media archive is durable work: herald killed with SIGKILL in the middle
 * of a download (the media host stalls mid-body) archives the file after a
 * restart, and the notification links to it. Runs `herald serve` as a process
 * with a YAML config, so the media section is read as a user writes it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SHIPPED_TEMPLATES_DIR, TEST_SECRETS, testSource } from '../helpers/config.js';
import { freePort, killAll, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { signedRequest, tempDir } from '../helpers/herald.js';
import { HOOK_SECRET } from '../helpers/herald-process.js';
import { jpegBytes, startMediaHost, type MediaHost } from '../helpers/media-host.js';
import { startHttpSink, waitUntil, type HttpSink } from '../helpers/sinks.js';

const PHOTO = jpegBytes(3000, 7);

describe('media archive across kill -9', function () {
  this.timeout(90_000);
  let dir: string;
  let host: MediaHost;
  let hook: HttpSink;
  const processes: ServeProcess[] = [];

  before(async () => {
    dir = tempDir();
    // The first download stalls after 1000 bytes and never ends; the next is whole.
    host = await startMediaHost((_, count) => ({ bytes: PHOTO, contentType: 'image/jpeg', ...(count === 0 && { stallAfter: 1000 }) }));
    hook = await startHttpSink();
  });

  after(async () => {
    await killAll(processes);
    await hook?.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives the file after a restart when the process died mid-download', async () => {
    const port = await freePort();
    const rulesDir = path.join(dir, 'rules');
    const configFile = path.join(dir, 'herald.config.yaml');
    mkdirSync(rulesDir);
    writeFileSync(path.join(rulesDir, 'media.yaml'), `- name: media\n  match: { category: media }\n  notify: [{ to: hook, template: media-available }]\n`);
    writeFileSync(
      configFile,
      [
        `server: { port: ${port}, host: 127.0.0.1, shutdownGrace: 2s, publicUrl: "http://127.0.0.1:${port}/" }`,
        'store: sqlite:./herald.db',
        `rules: ${JSON.stringify(rulesDir)}`,
        `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
        'sources:',
        `  facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] }`,
        'destinations:',
        `  hook: { type: webhook, url: "${hook.url}/hook", secret: "${HOOK_SECRET}", allowPrivateNetwork: true }`,
        'media:',
        '  store: file:./media',
        '  allowedHosts: [127.0.0.1]',
        '  allowPrivateNetwork: true',
      ].join('\n'),
    );

    const first = await serveHerald(['--config', configFile], port);
    processes.push(first);
    const payload = {
      id: 'evt_media_crash',
      type: 'media.user_photo',
      createdAt: Date.now(),
      sessionId: 'sess_crash',
      media: { id: 'med_crash', createdAt: Date.now(), url: `${host.url}/crash.jpg?sig=x`, expires: Date.now() + 15 * 60_000, contentType: 'image/jpeg' },
    };
    const { body, headers } = signedRequest(testSource('facesign', 'facesign'), payload);
    assert.equal((await fetch(`${first.url}/webhooks/facesign`, { method: 'POST', headers, body: new Uint8Array(body) })).status, 200);
    await waitUntil(() => host.requests.length === 1, 20_000, 'the download to start');
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(hook.requests.length, 0, 'nothing was routed before the archive');

    const second = await serveHerald(['--config', configFile], port);
    processes.push(second);
    await hook.waitFor(1, 30_000);
    const data = (JSON.parse(hook.requests[0]!.body) as { data: { media: { url: string; sha256: string } } }).data;
    assert.match(data.media.url, new RegExp(`^http://127\\.0\\.0\\.1:${port}/media/[0-9a-f-]{36}\\?exp=[0-9]+&sig=`), 'publicUrl without its trailing slash');
    const reply = await fetch(data.media.url);
    assert.equal(reply.status, 200);
    assert.ok(Buffer.from(await reply.arrayBuffer()).equals(PHOTO));
    assert.equal(host.requests.length, 2, 'downloaded again after the restart, once');
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
