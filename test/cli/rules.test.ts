import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { runHerald } from '../helpers/cli.js';
import { tempDir } from '../helpers/herald.js';

const SHIPPED_CONFIG = path.join(PACKAGE_ROOT, 'herald.config.yaml');
const EXAMPLE_ENV = parseEnv(readFileSync(path.join(PACKAGE_ROOT, '.env.example'), 'utf8'));
const EXPECTED = path.join(PACKAGE_ROOT, 'test/cli/expected/rules-test-kyc-rejected.txt');

/** herald's event ids differ per run; the rules version changes with every edit of a rule file. */
const scrub = (text: string) =>
  text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<event id>').replace(/^Rules [0-9a-f]{12}:/m, 'Rules <version>:');

describe('herald rules test', function () {
  this.timeout(20_000);

  it('prints the rules that fire for a shipped sample and every rendered message, as in the checked-in file', async () => {
    const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'kyc:kyc.session.rejected'], EXAMPLE_ENV);
    assert.equal(result.code, 0, result.stderr);
    if (process.env.UPDATE_EXPECTED === '1') writeFileSync(EXPECTED, scrub(result.stdout));
    assert.equal(scrub(result.stdout), readFileSync(EXPECTED, 'utf8'));
  });

  it('prints JSON with --json, and sends nothing', async () => {
    const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'owleyes:verification.failed', '--json'], EXAMPLE_ENV);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { fired: Array<{ rule: string; notifications: Array<{ destination: string; message: { channel: string } }> }> };
    assert.deepEqual(
      report.fired.map((f) => f.rule),
      ['verification-failed'],
    );
    assert.deepEqual(
      report.fired[0]!.notifications.map((n) => `${n.destination}:${n.message.channel}`),
      ['compliance-slack:slack', 'compliance-email:email', 'crm:webhook'],
    );
  });

  it('says when no rule fires', async () => {
    const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'facesign:settings.langs'], EXAMPLE_ENV);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /0 of \d+ fire; nothing would be sent/);
  });

  it("routes a sample of herald's own alerts with --sample herald:TYPE", async () => {
    const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'herald:herald.breaker.opened', '--json'], EXAMPLE_ENV);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      event: { source: string; category: string };
      fired: Array<{ rule: string; notifications: Array<{ destination: string; message: { channel: string } }> }>;
    };
    assert.deepEqual([report.event.source, report.event.category], ['herald', 'operations']);
    assert.deepEqual(
      report.fired.map((f) => f.rule),
      ['herald-alerts'],
    );
    assert.deepEqual(
      report.fired[0]!.notifications.map((n) => `${n.destination}:${n.message.channel}`),
      ['compliance-slack:slack', 'compliance-email:email'],
    );
  });

  it('names the samples there are when there is none of the type asked for', async () => {
    const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'herald:herald.nope'], EXAMPLE_ENV);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /no sample of type "herald\.nope" for herald; samples exist for: herald\.breaker\.opened, herald\.dead_letters, herald\.queue\.stale, herald\.rule\.failed$/m,
    );
    assert.doesNotMatch(result.stderr, /at loadSample/, 'a message, not a stack trace');
  });

  it('enriches the event with a FaceSign session given with --session: the messages say its status', async () => {
    const session = path.join(PACKAGE_ROOT, 'samples/facesign/api/session.json');
    const result = await runHerald(
      ['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'facesign:session.status', '--session', session, '--json'],
      EXAMPLE_ENV,
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as {
      event: { outcome: string; session: { status: string } };
      fired: Array<{ rule: string; notifications: Array<{ message: { channel: string } }> }>;
    };
    assert.equal(report.event.session.status, 'complete');
    assert.equal(report.event.outcome, 'completed');
    const slack = report.fired.flatMap((f) => f.notifications).find((n) => n.message.channel === 'slack')!;
    assert.match(JSON.stringify(slack.message), /FaceSign session sess_8Kq2vX4mN7pR is complete/);
    assert.match(
      JSON.stringify(slack.message),
      /\*Verified\* true · \*Liveness\* true · \*Deepfake check\* complete · \*Video AI analysis\* complete · \*Reference\* customer-4821/,
    );

    const plain = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', '--sample', 'facesign:session.status', '--json'], EXAMPLE_ENV);
    assert.match(plain.stdout, /FaceSign session sess_8Kq2vX4mN7pR changed status/);
  });

  it('normalizes a provider payload file given with --source', async () => {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'payload.json');
      writeFileSync(file, readFileSync(path.join(PACKAGE_ROOT, 'samples/faceio/ENROLL.json')));
      const result = await runHerald(['--config', SHIPPED_CONFIG, 'rules', 'test', file, '--source', 'faceio'], EXAMPLE_ENV);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /face-enrolled/);
      // Personal fields stay redacted: no shipped rule opts in.
      assert.doesNotMatch(result.stdout, /203\.0\.113\.42/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('herald check: rules and templates', function () {
  this.timeout(20_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
    cpSync(path.join(PACKAGE_ROOT, 'templates'), path.join(dir, 'templates'), { recursive: true });
    mkdirSync(path.join(dir, 'rules'));
    writeFileSync(
      path.join(dir, 'herald.config.yaml'),
      [
        'sources:',
        '  kyc: { provider: legaltalent, secrets: ["s"] }',
        'destinations:',
        '  ops: { type: slack, url: "https://hooks.slack.example/services/x" }',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('fails on a template that uses an undefined variable, naming the template file and the sample', async () => {
    mkdirSync(path.join(dir, 'templates', 'typo'));
    writeFileSync(path.join(dir, 'templates', 'typo', 'slack.yaml'), 'text: "Session {{ event.data.data.sesion_id }}"\n');
    writeFileSync(path.join(dir, 'rules', 'r.yaml'), '- name: r\n  match: { provider: legaltalent }\n  notify: [{ to: ops, template: typo }]\n');
    const result = await runHerald(['--config', path.join(dir, 'herald.config.yaml'), 'check']);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /typo[/\\]slack\.yaml/);
    assert.match(result.stderr, /sesion_id/);
    assert.match(result.stderr, /kyc\.session\.\w+/);
  });

  it("renders the templates of a rule that matches every event against herald's alerts too, unless alerts are off", async () => {
    // A rule without `match` gets herald's alerts as well, and this template cannot show them.
    mkdirSync(path.join(dir, 'templates', 'kyc-only'));
    writeFileSync(path.join(dir, 'templates', 'kyc-only', 'slack.yaml'), 'text: "KYC session {{ event.data.data.session_id }}"\n');
    writeFileSync(path.join(dir, 'rules', 'r.yaml'), '- name: everything\n  notify: [{ to: ops, template: kyc-only }]\n');
    const config = path.join(dir, 'herald.config.yaml');
    const result = await runHerald(['--config', config, 'check']);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /kyc-only[/\\]slack\.yaml.*sample herald herald\.(breaker\.opened|dead_letters|queue\.stale)/);
    assert.doesNotMatch(result.stderr, /sample kyc /, 'the KYC samples have the field');
    writeFileSync(config, `${readFileSync(config, 'utf8')}alerts: { enabled: false }\n`);
    const off = await runHerald(['--config', config, 'check']);
    assert.equal(off.code, 0, off.stderr);
  });

  it('passes the shipped ops-alert template against every alert type', async () => {
    writeFileSync(path.join(dir, 'rules', 'r.yaml'), '- name: alerts\n  match: { source: herald }\n  notify: [{ to: ops, template: ops-alert }]\n');
    const result = await runHerald(['--config', path.join(dir, 'herald.config.yaml'), 'check']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 rules, \d+ templates, 4 sample renders/);
  });

  it('renders media templates against an archived and a failed sample too when a media archive is set', async function () {
    this.timeout(60_000); // three runs of the CLI
    mkdirSync(path.join(dir, 'templates', 'media-sloppy'));
    writeFileSync(path.join(dir, 'templates', 'media-sloppy', 'slack.yaml'), 'text: "{{ event.media.url }} {{ event.media.archived.sha256 }}"\n');
    const config = path.join(dir, 'herald.config.yaml');
    writeFileSync(
      config,
      [
        'sources:',
        '  fs: { provider: facesign, secrets: ["s"] }',
        'destinations:',
        '  ops: { type: slack, url: "https://hooks.slack.example/services/x" }',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'rules', 'r.yaml'), '- name: media\n  match: { category: media }\n  notify: [{ to: ops, template: media-available }]\n');
    const plain = await runHerald(['--config', config, 'check']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /3 sample renders/);
    writeFileSync(config, `${readFileSync(config, 'utf8')}server: { publicUrl: "https://herald.example.com" }\nmedia: { allowedHosts: [media.facesign.ai] }\n`);
    const archived = await runHerald(['--config', config, 'check']);
    assert.equal(archived.code, 0, archived.stderr);
    assert.match(archived.stdout, /9 sample renders/, 'each media sample archived, failed and as received');
    // A template that reads the archive without testing for it fails on the samples without one.
    writeFileSync(path.join(dir, 'rules', 'r.yaml'), '- name: media\n  match: { category: media }\n  notify: [{ to: ops, template: media-sloppy }]\n');
    const sloppy = await runHerald(['--config', config, 'check']);
    assert.equal(sloppy.code, 1, sloppy.stdout);
    assert.match(sloppy.stderr, /media-sloppy[/\\]slack\.yaml.*event\.media\.archived/);
  });

  it('fails on a rule naming an unknown template or destination, with file, line and path', async () => {
    writeFileSync(
      path.join(dir, 'rules', 'r.yaml'),
      '- name: r\n  notify:\n    - { to: ops, template: kyc-rejectd }\n    - { to: opz, template: kyc-rejected }\n',
    );
    const result = await runHerald(['--config', path.join(dir, 'herald.config.yaml'), 'check']);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stderr, /r\.yaml:3:\d+ \[0\]\.notify\[0\]\.template: unknown template "kyc-rejectd"/);
    assert.match(result.stderr, /r\.yaml:4:\d+ \[0\]\.notify\[1\]\.to: unknown destination "opz"/);
  });
});
