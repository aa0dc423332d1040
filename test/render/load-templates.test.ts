import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../src/core/errors.js';
import { loadTemplates } from '../../src/render/templates.js';
import { TESTDATA, templatesFolder } from './helpers.js';

function loadError(dir: string): ConfigError {
  try {
    loadTemplates(dir);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail(`${dir} loaded, but should have failed`);
}

describe('loadTemplates', () => {
  it('reports every problem of every template in one ConfigError, with file, line and path', () => {
    const dir = path.join(TESTDATA, 'broken');
    const error = loadError(dir);
    const found = error.issues.map((i) => [path.relative(dir, i.file), i.line ?? null, i.path, i.message]);
    const expected: Array<[string, number | null, string, RegExp]> = [
      ['bad-leaf/slack.yaml', 6, 'blocks[0].text.text', /undefined filter: raw/],
      ['bad-leaf/slack.yaml', 10, 'blocks[1].elements[0].text', /unknown variable evnt/],
      ['bad-leaf/slack.yaml', 11, 'blocks[2]', /a block must be a mapping with a `type`/],
      ['bad-liquid/email.html.liquid', 2, '', /Liquid syntax error: undefined filter: nope/],
      ['bad-liquid/email.text.liquid', 3, '', /Liquid syntax error: tag "iff" not found/],
      ['bad-shape/slack.yaml', 1, 'text', /`text` must be a string/],
      ['bad-shape/slack.yaml', 2, 'blocks', /`blocks` must be a list/],
      ['bad-shape/slack.yaml', 3, 'username', /unknown key; slack.yaml has text and blocks/],
      ['bad-yaml/slack.yaml', 5, '', /YAML syntax error/],
      ['bad-yaml/slack.yaml', 5, '', /YAML syntax error/],
      ['empty', null, '', /template "empty" is empty/],
      ['includes/email.text.liquid', 2, '', /tag "include" not found \(a template is self-contained/],
      ['stray.liquid', null, '', /templates are folders/],
      ['unknown-file/email.subject.liquid', null, '', /email\.text\.liquid is missing: an email needs a subject and a text body/],
      [
        'unknown-file/slack.yml',
        null,
        '',
        /unknown file in template "unknown-file" \(did you mean slack\.yaml\?\); a template folder holds slack\.yaml, email\.subject\.liquid/,
      ],
      ['webhook-scalar/webhook.yaml', 1, '', /webhook\.yaml must be a mapping or a list/],
    ];
    assert.equal(found.length, expected.length, error.message);
    expected.forEach(([file, line, where, message], i) => {
      const [gotFile, gotLine, gotPath, gotMessage] = found[i]!;
      assert.deepEqual([gotFile, gotLine, gotPath], [file, line, where], `issue ${i}: ${error.message}`);
      assert.match(gotMessage as string, message);
    });
    assert.doesNotMatch(error.message, /good/, 'a good template is not reported');
  });

  it('reports a missing templates folder', () => {
    const error = loadError('/nonexistent/templates');
    assert.deepEqual(error.issues, [{ file: '/nonexistent/templates', path: '', message: 'the templates folder does not exist' }]);
  });

  it('ignores dot-files and a README at the top', () => {
    const dir = templatesFolder({ t: { 'slack.yaml': 'text: hi', '.slack.yaml.swp': 'x' } });
    writeFileSync(path.join(dir, 'README.md'), '# templates');
    assert.deepEqual(loadTemplates(dir).names(), ['t']);
  });

  it('lists names sorted, with their channels and files', () => {
    const dir = templatesFolder({
      b: { 'email.subject.liquid': 's', 'email.text.liquid': 't', 'webhook.yaml': '[1]' },
      a: { 'slack.yaml': 'text: hi', 'email.subject.liquid': 's', 'email.text.liquid': 't', 'email.html.liquid': 'h' },
    });
    const set = loadTemplates(dir);
    assert.deepEqual(set.names(), ['a', 'b']);
    assert.deepEqual(set.channels('a'), ['slack', 'email', 'webhook']);
    assert.deepEqual(set.channels('b'), ['email', 'webhook']);
    assert.deepEqual(set.channels('zzz'), []);
    assert.equal(set.fileFor('a', 'slack'), path.join(dir, 'a', 'slack.yaml'));
    assert.equal(set.fileFor('a', 'email'), path.join(dir, 'a', 'email.text.liquid'));
    assert.equal(set.fileFor('b', 'slack'), undefined);
  });

  it('compiles an unchanged YAML file once per process: another load shares the compile, a changed file is compiled anew', () => {
    const dir = templatesFolder({ t: { 'slack.yaml': 'text: "{{ event.subject }} (shared compile)"', 'webhook.yaml': 'id: "{{ event.id }}"' } });
    const scope = { event: { subject: 's', id: 'e1' }, rule: { name: 'r' }, destination: { name: 'd', type: 'slack' as const } };
    const textOf = (set: ReturnType<typeof loadTemplates>) => (set.render('t', 'slack', scope) as { payload: { text: string } }).payload.text;
    const slackTreeOf = (set: ReturnType<typeof loadTemplates>) =>
      (set as unknown as { templates: Map<string, { slack: { tree: unknown } }> }).templates.get('t')!.slack.tree;
    const first = loadTemplates(dir);
    const second = loadTemplates(dir);
    assert.equal(slackTreeOf(second), slackTreeOf(first));
    writeFileSync(path.join(dir, 't', 'slack.yaml'), 'text: "{{ event.subject }} (changed)"');
    const third = loadTemplates(dir);
    assert.notEqual(slackTreeOf(third), slackTreeOf(first));
    assert.equal(textOf(third), 's (changed)');
    assert.equal(textOf(first), 's (shared compile)');
    // A file with a problem keeps reporting it, from the same file and line, on every load.
    writeFileSync(path.join(dir, 't', 'webhook.yaml'), 'id: "{{ evnt.id }}"');
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(
        loadError(dir).issues.map((issue) => [issue.file, issue.line, issue.path]),
        [[path.join(dir, 't', 'webhook.yaml'), 1, 'id']],
      );
    }
  });

  it('parses each file once, at load time', () => {
    const dir = templatesFolder({ t: { 'slack.yaml': 'text: "{{ event.subject }}"' } });
    const set = loadTemplates(dir);
    rmSync(dir, { recursive: true });
    assert.deepEqual(set.render('t', 'slack', { event: { subject: 's' }, rule: { name: 'r' }, destination: { name: 'd', type: 'slack' } }), {
      channel: 'slack',
      payload: { text: 's', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 's', verbatim: true } }] },
    });
  });
});
