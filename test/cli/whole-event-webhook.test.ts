/**
 * A notify entry without a template (README, "Templates"): a webhook carries
 * the whole event; a Slack or email destination needs a template, and
 * `herald check` says so with the rule file and the entry's path.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { runHerald } from '../helpers/cli.js';
import { TEST_HOOK, writeRulesConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/herald.js';
import { event } from '../store/contract.js';

function writeSetup(dir: string, rules: string): string {
  const rulesDir = path.join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(path.join(rulesDir, 'plain.yaml'), rules);
  return writeRulesConfig(dir, rulesDir, path.join(PACKAGE_ROOT, 'templates'), [
    TEST_HOOK,
    '  team: { type: slack, url: "https://hooks.slack.com/services/T0/B0/abc" }',
  ]);
}

interface Report {
  fired: Array<{
    rule: string;
    notifications: Array<{ destination: string; template: string; message: { body: Record<string, unknown> } | null; error?: string }>;
  }>;
}

describe('a notify entry without a template', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('sends the whole event to a webhook, and herald check accepts it', async () => {
    const config = writeSetup(dir, '- name: everything\n  match: { provider: facesign }\n  notify: [{ to: hook }]\n');
    const check = await runHerald(['--config', config, 'check']);
    assert.equal(check.code, 0, check.stdout + check.stderr);

    const sent = event('facesign', { type: 'session.status', subject: 'sess_W', data: { marker: 'whole-event-4711' } });
    const file = path.join(dir, 'event.json');
    writeFileSync(file, JSON.stringify(sent));
    const result = await runHerald(['--config', config, 'rules', 'test', file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as Report;
    const [notification] = report.fired[0]!.notifications;
    assert.equal(notification!.template, '(event)');
    assert.equal(notification!.error, undefined);
    // Standard Webhooks' envelope: { type, timestamp, data }, with the whole event as data.
    const body = notification!.message!.body;
    assert.equal(body.type, sent.type);
    const whole = body.data as Record<string, unknown>;
    assert.equal(whole.id, sent.id);
    assert.equal(whole.subject, 'sess_W');
    assert.deepEqual(whole.data, sent.data);
  });

  it('is an error for a Slack destination, naming the rule file and the entry', async () => {
    const config = writeSetup(dir, '- name: chat\n  match: { provider: facesign }\n  notify: [{ to: team }]\n');
    const check = await runHerald(['--config', config, 'check']);
    assert.equal(check.code, 1);
    const output = check.stdout + check.stderr;
    assert.match(output, /plain\.yaml/);
    assert.match(output, /notify\[0\]/);
    assert.match(output, /slack destination "team" needs a template/);
  });
});
