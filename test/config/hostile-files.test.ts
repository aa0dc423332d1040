/**
 * Files that used to throw out of the loaders (and so out of a live reload,
 * stopping herald): a YAML alias bomb and a folder named like a file. Each
 * must be an issue naming the file, in the rules, the templates and the
 * config, and `herald check` must print it, not a stack trace.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { loadConfig } from '../../src/config/load.js';
import { loadRules } from '../../src/config/load-rules.js';
import { loadTemplates } from '../../src/render/templates.js';
import { runHerald } from '../helpers/cli.js';
import { SHIPPED_TEMPLATES_DIR, TEST_SECRETS } from '../helpers/config.js';
import { tempDir } from '../helpers/herald.js';
import { yamlAliasBomb } from '../helpers/hostile-files.js';

const rule = '- name: ok\n  notify: [{ to: hook, template: face-enrolled }]\n';

function configError(load: () => unknown): ConfigError {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail('expected a ConfigError');
}

describe('hostile files in the config folders', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a rule file that is an alias bomb, and a folder named like a rule file, and loads the others', () => {
    writeFileSync(path.join(dir, 'a.yaml'), rule);
    writeFileSync(path.join(dir, 'bomb.yaml'), yamlAliasBomb());
    mkdirSync(path.join(dir, 'x.yaml'));
    const rules = loadRules(dir);
    assert.deepEqual(
      rules.definitions.map((d) => d.name),
      ['ok'],
    );
    assert.deepEqual(
      rules.issues.map((i) => [path.basename(i.file), i.message]),
      [
        ['bomb.yaml', 'the file expands more than 100 YAML aliases (an alias bomb?): write the values out'],
        ['x.yaml', 'this rule file is a folder, not a file'],
      ],
    );
  });

  it('still reads a rule file with a few aliases', () => {
    writeFileSync(path.join(dir, 'a.yaml'), '- name: one\n  notify: &to [{ to: hook, template: face-enrolled }]\n- name: two\n  notify: *to\n');
    const rules = loadRules(dir);
    assert.deepEqual(rules.issues, []);
    assert.deepEqual(
      rules.definitions.map((d) => d.notify[0]!.to),
      ['hook', 'hook'],
    );
  });

  it('reports a template file that is an alias bomb or a folder', () => {
    cpSync(path.join(SHIPPED_TEMPLATES_DIR, 'face-enrolled'), path.join(dir, 'one'), { recursive: true });
    mkdirSync(path.join(dir, 'two'));
    writeFileSync(path.join(dir, 'two', 'slack.yaml'), yamlAliasBomb());
    mkdirSync(path.join(dir, 'three'));
    mkdirSync(path.join(dir, 'three', 'webhook.yaml'));
    const issues = configError(() => loadTemplates(dir)).issues.map((i) => [path.relative(dir, i.file), i.message]);
    assert.deepEqual(issues, [
      ['three/webhook.yaml', 'this template file is a folder, not a file'],
      ['two/slack.yaml', 'the file expands more than 100 YAML aliases (an alias bomb?): write the values out'],
    ]);
  });

  it('reports a config file that is an alias bomb', () => {
    const file = path.join(dir, 'herald.config.yaml');
    writeFileSync(file, `server: { port: 8080 }\nbomb:\n${yamlAliasBomb().replace(/^/gm, '  ')}`);
    const issues = configError(() => loadConfig(file, {})).issues;
    assert.deepEqual(
      issues.map((i) => [i.file, i.message]),
      [[file, 'the file expands more than 100 YAML aliases (an alias bomb?): write the values out']],
    );
  });

  it('herald check prints each such file as an error and exits 1, without a stack trace', async () => {
    mkdirSync(path.join(dir, 'rules'));
    writeFileSync(path.join(dir, 'rules', 'a.yaml'), rule);
    writeFileSync(path.join(dir, 'rules', 'bomb.yaml'), yamlAliasBomb());
    mkdirSync(path.join(dir, 'rules', 'x.yaml'));
    const config = path.join(dir, 'herald.config.yaml');
    writeFileSync(
      config,
      [
        'store: sqlite:./herald.db',
        'rules: ./rules',
        `templates: ${JSON.stringify(SHIPPED_TEMPLATES_DIR)}`,
        `sources: { facesign: { provider: facesign, secrets: ["${TEST_SECRETS.facesign}"] } }`,
        'destinations: { hook: { type: webhook, url: "https://example.com/hook", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" } }',
        '',
      ].join('\n'),
    );
    const result = await runHerald(['--config', config, 'check']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /rules\/bomb\.yaml: the file expands more than 100 YAML aliases/);
    assert.match(result.stderr, /rules\/x\.yaml: this rule file is a folder, not a file/);
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });
});
