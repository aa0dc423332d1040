import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULTS } from '../../src/config/defaults.js';
import { configSchema } from '../../src/config/schema.js';
import { DURATION_PATTERN } from '../../src/core/duration.js';
import { ConfigError, type ConfigIssue } from '../../src/core/errors.js';
import { PACKAGE_ROOT } from '../../src/core/paths.js';

// Tests run from dist/, but the YAML files live beside this source file.
const TESTDATA = path.join(PACKAGE_ROOT, 'test', 'config', 'testdata');
const testdata = (name: string) => path.join(TESTDATA, name);
const DAY = 86_400_000;

/** Loads a config that must fail, and returns its one error. */
function loadError(file: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfig(file, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail(`${file} loaded, but should have failed`);
}

/** The parts of an issue a test pins down: where it is, and a piece of its message. */
function where(issue: ConfigIssue) {
  return { path: issue.path, line: issue.line };
}

describe('loadConfig', () => {
  describe('the shipped config', () => {
    it('loads herald.config.yaml with the values of .env.example', () => {
      const env = parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8')) as NodeJS.ProcessEnv;
      const config = loadConfig(path.join(PACKAGE_ROOT, 'herald.config.yaml'), env);

      assert.deepEqual(Object.keys(config.sources), ['facesign', 'faceio', 'kyc', 'owleyes']);
      assert.deepEqual(config.sources.facesign!.secrets, [env.FACESIGN_WEBHOOK_SECRET]);
      assert.deepEqual(config.sources.faceio!.tokens, [env.FACEIO_WEBHOOK_TOKEN]);
      assert.equal(config.sources.kyc!.provider, 'legaltalent');
      assert.deepEqual(Object.keys(config.destinations), ['compliance-slack', 'compliance-email', 'crm']);
      assert.deepEqual(config.destinations.crm, {
        name: 'crm',
        type: 'webhook',
        options: { url: env.CRM_URL, secret: env.CRM_WEBHOOK_SECRET, format: 'standard', allowPrivateNetwork: true },
      });
      assert.equal(config.store, `sqlite:${path.join(PACKAGE_ROOT, 'data', 'herald.db')}`);
      assert.equal(config.rulesDir, path.join(PACKAGE_ROOT, 'rules'));
      assert.equal(config.delivery.retryMs.length, 10);
      assert.deepEqual(config.alerts, { enabled: true, everyMs: 3_600_000, queueAgeMs: 900_000, checkEveryMs: 30_000 });
    });

    it('starts with the $schema comment that editors use', () => {
      const firstLine = readFileSync(path.join(PACKAGE_ROOT, 'herald.config.yaml'), 'utf8').split('\n')[0];
      assert.equal(firstLine, '# yaml-language-server: $schema=./schema/herald.config.schema.json');
    });
  });

  describe('environment variables', () => {
    const required = { TEST_TOKEN: 'token-1', TEST_SECRET_NEW: 'new-secret' };

    it('replaces ${VAR}, and uses ${VAR:-default} when VAR is unset or empty', () => {
      const config = loadConfig(testdata('env-defaults.yaml'), { ...required, TEST_HOST: '' });

      assert.equal(config.server.port, 9090, 'a default string is made a number by the schema');
      assert.equal(config.server.host, '127.0.0.1');
      assert.equal(config.retentionMs, 7 * DAY);
      assert.deepEqual(config.sources.fio!.tokens, ['token-1']);
      assert.equal(config.sources.fio!.allowBareToken, true);
      assert.deepEqual(config.sources.fs!.secrets, ['new-secret', 'old-secret']);
      assert.equal(config.sources.fs!.toleranceMs, 120_000);
    });

    it('prefers a set variable to the default', () => {
      const config = loadConfig(testdata('env-defaults.yaml'), { ...required, TEST_PORT: '7000', TEST_SECRET_OLD: 'older' });
      assert.equal(config.server.port, 7000);
      assert.deepEqual(config.sources.fs!.secrets, ['new-secret', 'older']);
    });

    it('names a missing variable and the path that uses it', () => {
      const error = loadError(testdata('env-defaults.yaml'), { TEST_SECRET_NEW: 'new-secret' });
      assert.deepEqual(error.issues.map(where), [{ path: 'sources.fio.token', line: 8 }]);
      assert.equal(error.issues[0]!.message, 'environment variable TEST_TOKEN is not set (and has no default)');
    });

    it('reads a .env file beside the config, and the process environment wins over it', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'herald-config-'));
      try {
        copyFileSync(testdata('env-defaults.yaml'), path.join(dir, 'herald.config.yaml'));
        writeFileSync(path.join(dir, '.env'), 'TEST_TOKEN=from-dotenv\nTEST_SECRET_NEW=from-dotenv\nTEST_PORT=7001\n');
        const config = loadConfig(path.join(dir, 'herald.config.yaml'), { TEST_SECRET_NEW: 'from-env' });

        assert.deepEqual(config.sources.fio!.tokens, ['from-dotenv']);
        assert.deepEqual(config.sources.fs!.secrets, ['from-env', 'old-secret']);
        assert.equal(config.server.port, 7001);
        assert.equal(process.env.TEST_TOKEN, undefined, 'process.env is left alone');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('lets PORT and HERALD_STORE override the file', () => {
      const config = loadConfig(testdata('defaults.yaml'), { PORT: '9999', HERALD_STORE: 'postgres://herald@db/herald' });
      assert.equal(config.server.port, 9999);
      assert.equal(config.store, 'postgres://herald@db/herald');
    });

    it('rejects a PORT or HERALD_STORE the file could not hold', () => {
      const error = loadError(testdata('defaults.yaml'), { PORT: 'eighty', HERALD_STORE: 'mysql://herald:pw-9f2k@db/herald' });
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ['server.port', 'store'],
      );
      assert.match(error.message, /PORT, which must be a port number from 0 to 65535, not "eighty"/);
      assert.match(error.message, /HERALD_STORE, which must be "sqlite:<path>" or a "postgres:\/\/" URL/);
      assert.doesNotMatch(error.message, /pw-9f2k/);
    });
  });

  describe('paths and defaults', () => {
    it('resolves relative paths against the folder of the config file', () => {
      const relative = path.relative(process.cwd(), testdata('defaults.yaml'));
      const config = loadConfig(relative, {});

      assert.equal(config.file, testdata('defaults.yaml'));
      assert.equal(config.store, `sqlite:${path.join(TESTDATA, 'var', 'herald.db')}`);
      assert.equal(config.rulesDir, path.join(TESTDATA, 'my-rules'));
      assert.equal(config.templatesDir, path.join(TESTDATA, 'templates'));
    });

    it('resolves a relative HERALD_STORE against the config folder too, and keeps sqlite::memory:', () => {
      assert.equal(loadConfig(testdata('defaults.yaml'), { HERALD_STORE: 'sqlite:other.db' }).store, `sqlite:${path.join(TESTDATA, 'other.db')}`);
      assert.equal(loadConfig(testdata('defaults.yaml'), { HERALD_STORE: 'sqlite::memory:' }).store, 'sqlite::memory:');
    });

    it('fills every setting the file leaves out', () => {
      const config = loadConfig(testdata('defaults.yaml'), {});

      assert.deepEqual(config.server, {
        port: 8080,
        host: '0.0.0.0',
        bodyLimitBytes: 256 * 1024,
        requestTimeoutMs: 15_000,
        shutdownGraceMs: 30_000,
        trustProxy: false,
      });
      assert.equal(config.retentionMs, 30 * DAY);
      assert.deepEqual(config.delivery, {
        timeoutMs: 10_000,
        thread: true,
        retryMs: [5, 30, 120, 600, 1800, 3600, 10_800, 21_600, 43_200, 86_400].map((s) => s * 1000),
        maxAgeMs: 3 * DAY,
      });
      assert.deepEqual(config.sources.fs, {
        name: 'fs',
        provider: 'facesign',
        secrets: ['fs-secret'],
        tokens: [],
        allowBareToken: false,
        toleranceMs: 300_000,
        signedPayload: 'timestamp.body',
        signatureEncoding: 'hex',
        dedupeWindowMs: 30 * DAY,
        pii: 'redact',
      });
    });

    it('turns operational alerts on, once an hour per type and destination, unless the file says otherwise', () => {
      assert.deepEqual(loadConfig(testdata('defaults.yaml'), {}).alerts, { enabled: true, everyMs: 3_600_000, queueAgeMs: 900_000, checkEveryMs: 30_000 });
      assert.deepEqual(loadConfig(testdata('alerts.yaml'), {}).alerts, { enabled: true, everyMs: 7_200_000, queueAgeMs: 300_000, checkEveryMs: 10_000 });
    });

    it('remembers FACEIO dedupe keys for 10 minutes and the others for the retention', () => {
      const config = loadConfig(testdata('defaults.yaml'), {});
      assert.equal(config.sources.fio!.dedupeWindowMs, 10 * 60_000);
      assert.deepEqual(config.sources.fio!.secrets, []);
      assert.deepEqual(config.sources.fio!.tokens, ['fio-token-new', 'fio-token-old']);
      for (const name of ['fs', 'lt', 'oe']) assert.equal(config.sources[name]!.dedupeWindowMs, 30 * DAY, name);
    });

    it("loads a FaceSign source's api section with its defaults, and refuses one on another provider", () => {
      const config = loadConfig(testdata('session-api.yaml'), { FACESIGN_API_KEY: 'sk_live_FromEnv1' });
      assert.deepEqual(config.sources.fs!.api, {
        url: 'https://api.facesign.example/v1',
        key: 'sk_live_FromEnv1',
        enrich: ['session.status', 'analysis.*'],
        timeoutMs: 10_000,
        giveUpAfterMs: 300_000,
        rate: '10/s',
        allowPrivateNetwork: false,
      });
      assert.deepEqual(config.sources.fs2!.api, {
        url: 'http://10.0.0.5:8080',
        key: 'sk_live_FromEnv1',
        enrich: ['session.status'],
        timeoutMs: 3000,
        giveUpAfterMs: 60_000,
        rate: '2/s',
        allowPrivateNetwork: true,
      });
      assert.equal(config.sources.lt!.api, undefined);
      const error = loadError(testdata('session-api-bad.yaml'), { FACESIGN_API_KEY: 'sk_live_FromEnv1' });
      assert.deepEqual(error.issues.map((issue) => issue.path).sort(), ['sources.fs.api.url', 'sources.lt.api']);
      assert.ok(!error.message.includes('sk_live_FromEnv1'));
    });

    it('loads a media section with its defaults and server.publicUrl, and reports its mistakes by file and path without the secret', () => {
      const config = loadConfig(testdata('media.yaml'), {});
      assert.equal(config.server.publicUrl, 'https://herald.example.com');
      assert.deepEqual(config.media, {
        store: { kind: 'folder', dir: path.join(TESTDATA, 'data/media') },
        maxBytes: 50 * 1024 * 1024,
        allowedHosts: ['media.facesign.ai'],
        allowPrivateNetwork: false,
        linkTtlMs: 7 * DAY,
        timeoutMs: 60_000,
      });
      const secret = 'a-media-link-secret-of-40-characters-xyz';
      assert.deepEqual(loadConfig(testdata('media-store.yaml'), { HERALD_MEDIA_LINK_SECRET: secret }).media, {
        store: { kind: 'database' },
        maxBytes: 2 * 1024 * 1024,
        allowedHosts: ['media.facesign.ai', 'cdn.facesign.ai'],
        allowPrivateNetwork: true,
        linkTtlMs: 30 * DAY,
        timeoutMs: 20_000,
        linkSecret: secret,
      });
      assert.equal(loadConfig(testdata('defaults.yaml'), {}).media, undefined, 'no archive without a media section');

      const error = loadError(testdata('media-bad.yaml'), { HERALD_MEDIA_LINK_SECRET: 'short-Secret-77' });
      assert.deepEqual(error.issues.map((issue) => issue.path).sort(), ['media', 'media.allowedHosts', 'media.linkSecret', 'media.linkTtl', 'media.store']);
      assert.ok(error.issues.every((issue) => issue.file === testdata('media-bad.yaml')));
      assert.match(error.message, /server\.publicUrl/);
      assert.ok(!error.message.includes('short-Secret-77'));
    });

    it('passes a destination block on as options, without its type and with durations as written', () => {
      const config = loadConfig(testdata('defaults.yaml'), {});
      assert.deepEqual(config.destinations.chat, {
        name: 'chat',
        type: 'slack',
        options: { url: 'https://hooks.slack.com/services/T0/B0/X', delivery: { timeout: '3s' } },
      });
    });
  });

  describe('errors', () => {
    it('reports every mistake in a file at once, with file, path and line', () => {
      const file = testdata('many-mistakes.yaml');
      const error = loadError(file);

      assert.deepEqual(error.issues.map(where), [
        { path: 'server.bodylimit', line: 3 },
        { path: 'sources.facesign.secrets[0]', line: 5 },
        { path: 'sources.idv.provider', line: 6 },
        { path: 'sources.faceio', line: 7 },
        { path: 'sources.faceio.secrets', line: 7 },
        { path: 'sources.owleyes.tolerance', line: 8 },
        { path: 'destinations.ops.rate', line: 10 },
      ]);
      const messages = error.issues.map((issue) => issue.message);
      assert.deepEqual(messages, [
        'unknown key "bodylimit": did you mean "bodyLimit"?',
        'environment variable MISTAKES_SECRET_NOT_SET is not set (and has no default)',
        'unknown provider "idverse": expected one of facesign, faceio, legaltalent, owleyes',
        '"token" is required for a faceio source',
        '"secrets" does not apply to a faceio source: FACEIO authenticates with a bearer token, use "token"',
        '"5 minutes" is not a duration: write a whole number and a unit (ms, s, m, h, d), e.g. "300s"',
        '"fast" is not a rate: write a count, "/" and a unit (s, m, h), e.g. "1/s" or "30/m"',
      ]);
      assert.ok(error.issues.every((issue) => issue.file === file));
      assert.match(error.message, /^7 configuration errors:/);
      assert.ok(error.message.includes(`${file}:6:25 sources.idv.provider: unknown provider "idverse"`), error.message);
    });

    it('reports every YAML syntax error with its line', () => {
      const error = loadError(testdata('syntax-error.yaml'));
      assert.ok(error.issues.length >= 2, error.message);
      assert.ok(error.issues.every((issue) => issue.message.startsWith('YAML syntax error: ')));
      assert.deepEqual([...new Set(error.issues.map((issue) => issue.line))].slice(0, 2), [2, 3]);
    });

    it('checks what the schema cannot: URLs, webhook secrets, windows longer than the retention', () => {
      const error = loadError(testdata('cross-checks.yaml'));
      assert.deepEqual(error.issues.map(where), [
        { path: 'sources.fs.dedupeWindow', line: 4 },
        { path: 'destinations.crm.url', line: 8 },
        { path: 'destinations.crm.secret', line: 9 },
        { path: 'destinations.crm.delivery.maxAge', line: 10 },
        { path: 'destinations.mail.smtp', line: 11 },
        { path: 'delivery.maxAge', line: 12 },
      ]);
      assert.match(error.issues[0]!.message, /60d is longer than the retention \(30d\)/);
      assert.match(error.issues[2]!.message, /"whsec_" and the base64 of 24 to 64 random bytes/);
      assert.doesNotMatch(error.message, /c2hvcnQ=/, 'the secret is not repeated');
    });

    it('checks webhook signing keys: "secret" or "secrets", each a whsec_ or a whole whsk_ key, never a whpk_', () => {
      const file = testdata('signing-keys.yaml');
      const error = loadError(file);
      assert.deepEqual(error.issues.map(where), [
        { path: 'destinations.both.secret', line: 4 },
        { path: 'destinations.none', line: 5 },
        { path: 'destinations.public.secrets[1]', line: 6 },
        { path: 'destinations.halves.secrets[0]', line: 7 },
        { path: 'destinations.seed.secrets[0]', line: 8 },
        { path: 'destinations.empty.secrets', line: 9 },
        { path: 'destinations.chat.secrets', line: 10 },
        { path: 'destinations.listed.secret', line: 11 },
      ]);
      assert.deepEqual(
        error.issues.map((issue) => issue.message.split(':')[0]),
        [
          'give "secret" (one key) or "secrets" (a list), not both',
          '"secrets" is required for a webhook destination',
          'is an Ed25519 public key ("whpk_"), which cannot sign',
          'is a "whsk_" key whose second half is not the public key of its first',
          'must be "whsk_" and the base64 of a 64-byte Ed25519 secret key (the seed, then the public key); make one with `herald keys generate` (HMAC) or `herald keys generate --ed25519`',
          'must list at least 1 item',
          '"secrets" does not apply to a slack destination',
          'expected a string, got a list',
        ],
      );
      assert.match(error.issues.at(-1)!.message, /: list several signing keys in "secrets"$/);
      const keys = readFileSync(file, 'utf8').match(/wh(sec|sk|pk)_[A-Za-z0-9+/=]+/g)!;
      for (const key of keys) assert.ok(!error.message.includes(key.slice(key.indexOf('_') + 1)), `a key is in: ${error.message}`);
    });

    it('loads a webhook destination\'s several signing keys, and still its one "secret"', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'herald-keys-'));
      try {
        const file = path.join(dir, 'herald.config.yaml');
        writeFileSync(
          file,
          [
            'destinations:',
            '  crm: { type: webhook, url: "https://crm.example.com/hooks", secrets: ["${NEW_KEY}", "${OLD_KEY}"] }',
            '  erp: { type: webhook, url: "https://erp.example.com/hooks", secret: "${OLD_KEY}" }',
          ].join('\n'),
        );
        const env = {
          NEW_KEY: 'whsk_awS74+LrWbscLZhcqxvYJwiA8EL4y57tfcBU4j+j9Znj+Ar3C5b+375uKSU3sbiw+vTERxSn26vNDHGupZ/azA==',
          OLD_KEY: 'whsec_ZSeJCNHVnVR1A5eQOVQ9YZexDJ2bLWMdu02RvW/z62o=',
        };
        const config = loadConfig(file, env);
        const { crm, erp } = config.destinations;
        assert.ok(crm?.type === 'webhook' && erp?.type === 'webhook');
        assert.deepEqual(crm.options.secrets, [env.NEW_KEY, env.OLD_KEY]);
        assert.equal(erp.options.secret, env.OLD_KEY);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses a dedupe window shorter than twice the signature tolerance, where a replay would pass', () => {
      const error = loadError(testdata('replay-windows.yaml'));
      assert.deepEqual(error.issues.map(where), [
        { path: 'sources.fs.dedupeWindow', line: 4 },
        { path: 'sources.oe.tolerance', line: 5 },
      ]);
      assert.match(error.issues[0]!.message, /^2s is shorter than twice the signature tolerance \(300s\)/);
      assert.match(error.issues[1]!.message, /^the signature tolerance \(15m\) is longer than half the retention \(20m\)/);
      assert.match(error.message, /replay-windows\.yaml:4:\d+ sources\.fs\.dedupeWindow: /);
    });

    it('reads the operations listener and the metrics token, and refuses the webhook port for both', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'herald-admin-'));
      try {
        const file = path.join(dir, 'herald.config.yaml');
        writeFileSync(file, 'server:\n  port: 8080\n  admin: { port: 9090 }\n  metricsToken: ${METRICS_TOKEN}\n');
        const config = loadConfig(file, { METRICS_TOKEN: 'm-token' });
        assert.deepEqual(config.server.admin, { host: '127.0.0.1', port: 9090 });
        assert.equal(config.server.metricsToken, 'm-token');
        writeFileSync(file, 'server:\n  port: 8080\n  admin: { host: 0.0.0.0, port: 8080 }\n');
        const error = loadError(file);
        assert.deepEqual(error.issues.map(where), [{ path: 'server.admin.port', line: 3 }]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('points at the retention when a short retention leaves the default tolerance uncovered', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'herald-replay-'));
      try {
        const file = path.join(dir, 'herald.config.yaml');
        writeFileSync(file, 'retention: 5m\nsources:\n  fs: { provider: facesign, secrets: [s] }\n');
        const error = loadError(file);
        assert.deepEqual(error.issues.map(where), [{ path: 'retention', line: 1 }]);
        assert.match(error.issues[0]!.message, /tolerance \(300s\) is longer than half the retention \(5m\)/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reserves the name and provider "herald" for herald\'s own alerts, and checks the alerts block', () => {
      const error = loadError(testdata('alerts-mistakes.yaml'));
      assert.deepEqual(error.issues.map(where), [
        { path: 'sources.herald', line: 4 },
        { path: 'sources.own.provider', line: 5 },
        { path: 'alerts.every', line: 7 },
        { path: 'alerts.queueAge', line: 8 },
        { path: 'alerts.checkEvery', line: 9 },
        { path: 'alerts.repeat', line: 10 },
      ]);
      assert.deepEqual(
        error.issues.map((issue) => issue.message),
        [
          'the source name "herald" is reserved for herald\'s own operational alerts: give this source another name',
          'unknown provider "herald": expected one of facesign, faceio, legaltalent, owleyes',
          'must be longer than 0',
          '"soon" is not a duration: write a whole number and a unit (ms, s, m, h, d), e.g. "300s"',
          'must be longer than 0',
          'unknown key "repeat": expected one of enabled, every, queueAge, checkEvery',
        ],
      );
      assert.match(error.message, /alerts-mistakes\.yaml:4:3 sources\.herald: /, 'the reserved name is pointed at by its key');
    });

    it('reads console users and server.publicUrl, and checks names, roles, hashes and the session timeout', () => {
      const hash = '$scrypt$ln=15,r=8,p=1$4a/JnxhYAYsB/ffg1qkm6A$lwiDLVZv/j/RQyNhrXd75FkiPMgLilbZhJyrbN1hm1A';
      const config = loadConfig(testdata('console.yaml'), { ALICE_PASSWORD_HASH: hash });
      assert.equal(config.server.publicUrl, 'https://herald.example.com');
      assert.deepEqual(config.console, {
        users: [
          { name: 'alice', passwordHash: hash, role: 'admin' },
          { name: 'victor', passwordHash: hash, role: 'viewer' },
        ],
        sessionTimeoutMs: 600_000,
      });
      assert.deepEqual(loadConfig(testdata('defaults.yaml'), {}).console, { users: [], sessionTimeoutMs: 1_800_000 });
      const error = loadError(testdata('console-mistakes.yaml'));
      assert.deepEqual(error.issues.map(where), [
        { path: 'server.publicUrl', line: 3 },
        { path: 'console.users[0].passwordHash', line: 6 },
        { path: 'console.users[1].name', line: 7 },
        { path: 'console.users[1].role', line: 7 },
        { path: 'console.users[2].name', line: 8 },
        { path: 'console.sessionTimeout', line: 9 },
      ]);
      assert.match(error.issues[1]!.message, /herald console hash-password/);
      assert.match(error.issues[2]!.message, /"alice" is listed twice/);
      assert.doesNotMatch(error.message, /LEAK/, 'a wrong hash is not echoed');
    });

    it('never puts a secret in an error message', () => {
      // Every value containing LEAK is a secret, from the file or the environment.
      const env = { OE_SECRET_VALUE: 'LEAK-env-secret', HERALD_STORE: 'postgresx://herald:LEAK-env-store@db/herald' };
      const cases: [string, number][] = [
        ['leaky.yaml', 18],
        ['leaky-syntax.yaml', 3],
        ['leaky-stream.yaml', 3],
      ];
      for (const [name, count] of cases) {
        const error = loadError(testdata(name), env);
        assert.equal(error.issues.length, count, error.message);
        assert.doesNotMatch(error.message, /LEAK/, error.message);
      }
    });

    it('reports a missing file as one issue', () => {
      const error = loadError(testdata('no-such-file.yaml'));
      assert.deepEqual(error.issues, [{ file: testdata('no-such-file.yaml'), path: '', message: 'the config file does not exist' }]);
    });
  });
});

describe('schema/herald.config.schema.json', () => {
  it('describes every property, so editors can explain each key', () => {
    const undescribed: string[] = [];
    const visit = (node: unknown, where: string) => {
      if (node === null || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      for (const [key, property] of Object.entries((schema.properties ?? {}) as Record<string, unknown>)) {
        // `false` forbids a key in an if/then branch; it is described where it is defined.
        if (property !== false && !(property as { description?: string }).description) undescribed.push(`${where}.${key}`);
      }
      // An `if` only tests a value; its properties are described where they are defined.
      for (const [key, child] of Object.entries(schema)) if (key !== 'if') visit(child, `${where}/${key}`);
    };
    visit(configSchema(), '#');
    assert.deepEqual(undescribed, []);
  });

  it('announces the same defaults as the loader applies', () => {
    const { properties, definitions } = configSchema();
    const { source, ...topLevel } = DEFAULTS;
    assert.deepEqual(
      {
        server: {
          port: properties.server.properties.port.default,
          host: properties.server.properties.host.default,
          bodyLimit: properties.server.properties.bodyLimit.default,
          requestTimeout: properties.server.properties.requestTimeout.default,
          shutdownGrace: properties.server.properties.shutdownGrace.default,
          adminHost: properties.server.properties.admin.properties.host.default,
        },
        store: properties.store.default,
        rules: properties.rules.default,
        templates: properties.templates.default,
        retention: properties.retention.default,
        delivery: {
          timeout: properties.delivery.properties.timeout.default,
          retry: properties.delivery.properties.retry.default,
          maxAge: properties.delivery.properties.maxAge.default,
          thread: properties.delivery.properties.thread.default,
        },
        alerts: {
          enabled: properties.alerts.properties.enabled.default,
          every: properties.alerts.properties.every.default,
          queueAge: properties.alerts.properties.queueAge.default,
          checkEvery: properties.alerts.properties.checkEvery.default,
        },
        pii: definitions.source.properties.pii.default,
        console: { sessionTimeout: properties.console.properties.sessionTimeout.default },
        sessionApi: {
          enrich: definitions.sessionApi.properties.enrich.default,
          timeout: definitions.sessionApi.properties.timeout.default,
          giveUpAfter: definitions.sessionApi.properties.giveUpAfter.default,
          rate: definitions.sessionApi.properties.rate.default,
          allowPrivateNetwork: definitions.sessionApi.properties.allowPrivateNetwork.default,
        },
        media: {
          store: properties.media.properties.store.default,
          maxBytes: properties.media.properties.maxBytes.default,
          allowPrivateNetwork: properties.media.properties.allowPrivateNetwork.default,
          linkTtl: properties.media.properties.linkTtl.default,
          timeout: properties.media.properties.timeout.default,
        },
      },
      { ...topLevel, pii: source.pii },
    );
  });

  it('writes durations with the pattern parseDuration accepts', () => {
    assert.equal(configSchema().definitions.duration.pattern, DURATION_PATTERN);
  });
});
