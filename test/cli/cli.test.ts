import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { DataKeyring } from '../../src/core/sealing.js';
import { parseSigningKey, viewSigningKey } from '../../src/core/signing-keys.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { freePort, HERALD_BIN, runHerald, serveHerald, type ServeProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';

const SHIPPED_CONFIG = path.join(PACKAGE_ROOT, 'herald.config.yaml');
/** The README's quick start copies .env.example to .env: these are those values. */
const EXAMPLE_ENV = parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8'));

describe('herald CLI', function () {
  this.timeout(30_000);

  it('is an executable bin, the bundle, so `npx herald` runs it', async () => {
    const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string; bin: { herald: string } };
    const bin = path.join(PACKAGE_ROOT, manifest.bin.herald);
    assert.equal(bin, HERALD_BIN);
    assert.doesNotThrow(() => accessSync(bin, constants.X_OK));
    const { code, stdout } = await runHerald(['--version'], {}, { process: true });
    assert.equal(code, 0);
    assert.equal(stdout.trim(), manifest.version);
  });
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('herald send', () => {
    // One running herald for both tests: a process start is a second of CPU.
    let serveDir: string;
    let store: string;
    let env: NodeJS.ProcessEnv;
    let herald: ServeProcess;
    before(async () => {
      serveDir = tempDir();
      const port = await freePort();
      store = `sqlite:${path.join(serveDir, 'herald.db')}`;
      env = { ...EXAMPLE_ENV, PORT: String(port), HERALD_STORE: store };
      herald = await serveHerald(['--config', SHIPPED_CONFIG], port, env);
    });
    after(async () => {
      herald.child.kill('SIGTERM');
      const { code } = await herald.exited;
      rmSync(serveDir, { recursive: true, force: true });
      assert.equal(code, 0, herald.stderr());
    });

    it('signs a shipped sample like the provider and posts it to a running herald, which stores it', async () => {
      const sent = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', '--sample', 'session.status'], env);
      assert.equal(sent.code, 0, sent.stderr);
      assert.match(sent.stdout, /^200 OK \{"status":"accepted"\}/);
      for (const [source, type] of [
        ['faceio', 'ENROLL'],
        ['kyc', 'kyc.session.rejected'],
        ['owleyes', 'verification.failed'],
      ]) {
        const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', source!, '--sample', type!], env);
        assert.equal(result.code, 0, `${source}: ${result.stdout}${result.stderr}`);
      }
      // Read beside the running herald, as the CLI's commands do: it stored each event before its 200.
      const stored = new SqliteStore(store.slice('sqlite:'.length), { create: false });
      try {
        // Nothing listens at the .env.example destinations: herald may have raised an alert of its own too.
        const events = (await stored.listEvents()).filter((e) => e.source !== 'herald');
        assert.deepEqual(
          events.map((e) => `${e.source}:${e.type}`),
          ['facesign:session.status', 'faceio:ENROLL', 'kyc:kyc.session.rejected', 'owleyes:verification.failed'],
        );
      } finally {
        await stored.close();
      }
    });

    it('sends a payload file byte for byte, and exits 1 when herald refuses it', async () => {
      const file = path.join(dir, 'payload.json');
      writeFileSync(file, '{"not": "a facesign payload"}');
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'send', 'facesign', file], env);
      assert.equal(result.code, 1);
      assert.match(result.stdout, /^422 /);
    });
  });

  describe('herald keys generate', () => {
    it('prints a new whsec_ secret, or an Ed25519 key pair whose halves belong together', async () => {
      const [hmac, pair, json] = await Promise.all([
        runHerald(['keys', 'generate']),
        runHerald(['keys', 'generate', '--ed25519']),
        runHerald(['keys', 'generate', '--ed25519', '--json']),
      ]);
      for (const result of [hmac, pair, json]) assert.equal(result.code, 0, result.stderr);
      assert.match(hmac.stdout, /^whsec_[A-Za-z0-9+/]{43}=\n$/);
      assert.deepEqual(parseSigningKey(hmac.stdout.trim()).scheme, 'v1');
      const lines = pair.stdout.split('\n');
      assert.match(lines[0]!, /^secret key, for herald/);
      assert.match(lines[2]!, /^public key, for the receiver/);
      const keys = JSON.parse(json.stdout) as { secretKey: string; publicKey: string };
      for (const [secretKey, publicKey] of [
        [lines[1]!, lines[3]!],
        [keys.secretKey, keys.publicKey],
      ] as const) {
        assert.match(publicKey, /^whpk_[A-Za-z0-9+/]{43}=$/);
        assert.deepEqual(viewSigningKey(parseSigningKey(secretKey)), { scheme: 'v1a', algorithm: 'Ed25519', publicKey });
      }
      assert.notEqual(keys.secretKey, lines[1]);
    });

    it('prints a data key for HERALD_DATA_KEY with --data-key, which herald then takes', async () => {
      const [text, json] = await Promise.all([runHerald(['keys', 'generate', '--data-key']), runHerald(['keys', 'generate', '--data-key', '--json'])]);
      for (const result of [text, json]) assert.equal(result.code, 0, result.stderr);
      assert.match(text.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
      const { dataKey } = JSON.parse(json.stdout) as { dataKey: string };
      for (const key of [text.stdout.trim(), dataKey]) assert.equal(DataKeyring.fromEnv({ HERALD_DATA_KEY: key }).sealing, true);
      // A malformed one stops a command at once, naming the variable and not its value.
      const bad = await runHerald(['--config', SHIPPED_CONFIG, 'keys', 'rotate'], { ...EXAMPLE_ENV, HERALD_DATA_KEY: 'c2hvcnQ=' });
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^herald: HERALD_DATA_KEY must be the base64 of 32 random bytes/);
      assert.ok(!bad.stderr.includes('c2hvcnQ='));
    });
  });

  describe('herald check', () => {
    it('accepts the shipped config (a process of its own, which exits 0 when done)', async () => {
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'check'], EXAMPLE_ENV, { process: true });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /OK/);
    });

    it('prints every mistake of a config, with its path, and exits non-zero', async () => {
      const file = path.join(dir, 'herald.config.yaml');
      writeFileSync(
        file,
        [
          'server: { port: 8080 }',
          'sources:',
          '  a: { provider: facesing, secrets: ["x"] }',
          '  b: { provider: owleyes, secrets: ["${NOT_SET_ANYWHERE}"] }',
          '  c: { provider: facesign, secrets: ["y"], tolerance: 5 minutes }',
          '',
        ].join('\n'),
      );
      const result = await runHerald(['--config', file, 'check'], {});
      assert.equal(result.code, 1);
      assert.match(result.stderr, /sources\.a\.provider.*facesing/);
      assert.match(result.stderr, /sources\.b\.secrets\[0\].*NOT_SET_ANYWHERE/);
      assert.match(result.stderr, /sources\.c\.tolerance/);
      assert.match(result.stderr, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    });

    it('says so when the config file does not exist', async () => {
      const result = await runHerald(['--config', path.join(dir, 'missing.yaml'), 'check'], {});
      assert.equal(result.code, 1);
      assert.match(result.stderr, /missing\.yaml/);
    });
  });

  describe('herald migrate', () => {
    it('creates the schema, and running it again changes nothing', async () => {
      const env = { ...EXAMPLE_ENV, HERALD_STORE: `sqlite:${path.join(dir, 'herald.db')}` };
      const first = await runHerald(['--config', SHIPPED_CONFIG, 'migrate'], env);
      const second = await runHerald(['--config', SHIPPED_CONFIG, 'migrate'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(second.stdout, first.stdout);
      assert.match(first.stdout, /version [0-9]+/);
    });
  });
});
