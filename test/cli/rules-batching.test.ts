/**
 * Previews of grouping, digests and throttles (issue 17, item 7): `herald
 * rules test` with several events shows what the batches would send and when;
 * `herald check` renders the templates of rules that batch against a sample
 * group, and finds a template that reads `group` for a rule that does not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { runHerald } from '../helpers/cli.js';
import { writeRulesConfig } from '../helpers/config.js';
import { tempDir } from '../helpers/herald.js';
import { event } from '../store/contract.js';

const FIXTURES = path.join(PACKAGE_ROOT, 'test/fixtures/batching');

function writeConfig(dir: string, rulesDir: string): string {
  return writeRulesConfig(dir, rulesDir, path.join(FIXTURES, 'templates'));
}

interface Preview {
  events: Array<{ batched?: Array<{ rule: string; kind: string }> }>;
  batches: {
    heldBack: number;
    messages: Array<{ at: string; rule: string; key: string; events: number; message: { body: { data: Record<string, unknown> } } }>;
  };
}

describe('previews of grouping, digests and throttles', function () {
  this.timeout(30_000);
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const at = (s: number) => new Date(Date.parse('2026-03-02T10:00:00Z') + s * 1000).toISOString();

  it('herald rules test with a JSON array of events shows each message the batches would send, and when', async () => {
    const config = writeConfig(dir, path.join(FIXTURES, 'rules'));
    const group = [0, 1, 40].map((s) => event('facesign', { type: 'group.rejected', subject: 'sess_A', receivedAt: at(s) }));
    const throttled = [2, 3, 4].map((s) => event('facesign', { type: 'throttle.failed', subject: 'sess_A', receivedAt: at(s) }));
    const digested = [5, 6].map((s) => event('facesign', { type: 'digest.match', subject: `sess_${s}`, receivedAt: at(s) }));
    const file = path.join(dir, 'events.json');
    writeFileSync(file, JSON.stringify([...group, ...throttled, ...digested]));
    const result = await runHerald(['--config', config, 'rules', 'test', file, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const preview = JSON.parse(result.stdout) as Preview;
    assert.deepEqual(preview.events[0]!.batched, [{ rule: 'grouped', file: path.join(FIXTURES, 'rules', 'batching.yaml'), kind: 'group' }]);
    const messages = preview.batches.messages.map((m) => [m.at, m.rule, m.key, m.events]);
    assert.deepEqual(messages, [
      [at(2), 'throttled', 'sess_A', 1],
      [at(3), 'throttled', 'sess_A', 1],
      [at(30), 'grouped', 'sess_A', 2],
      [at(330), 'grouped', 'sess_A', 1],
      // The daily digest: at 09:00 in Berlin (08:00 UTC in March) on the next day, about both events.
      ['2026-03-03T08:00:00.000Z', 'daily', '', 2],
    ]);
    assert.equal(preview.batches.heldBack, 1, 'the third throttled event');
    assert.equal(preview.batches.messages[2]!.message.body.data.ids, `${group[0]!.id},${group[1]!.id}`);

    // Several files work as one list, and the text says the same.
    const files = [group[0]!, group[1]!].map((e, i) => {
      const one = path.join(dir, `event-${i}.json`);
      writeFileSync(one, JSON.stringify(e));
      return one;
    });
    const text = await runHerald(['--config', config, 'rules', 'test', ...files]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /Grouping, digests and throttles would send 1 message:/);
    assert.match(text.stdout, new RegExp(`1\\. at ${at(30).replace(/\./g, '\\.')}: grouped -> hook \\(template group-summary\\), key "sess_A", 2 events`));
  });

  it('herald check renders the templates of rules that batch against a sample group', async () => {
    const ok = await runHerald(['--config', writeConfig(dir, path.join(FIXTURES, 'rules')), 'check']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);

    // The same template for a rule that sends a message per event: `group` is not set there.
    const rules = path.join(dir, 'rules');
    mkdirSync(rules);
    writeFileSync(path.join(rules, 'plain.yaml'), '- name: plain\n  match: { provider: facesign }\n  notify: [{ to: hook, template: group-summary }]\n');
    const bad = await runHerald(['--config', writeConfig(dir, rules), 'check']);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout + bad.stderr, /group-summary\/webhook\.yaml:1:\d+.*group/);

    // A misspelt group variable in a grouped rule's template: found against the sample group.
    const templates = path.join(dir, 'templates', 'typo');
    mkdirSync(templates, { recursive: true });
    writeFileSync(path.join(templates, 'webhook.yaml'), 'key: "{{ group.key }}"\ncount: "{{ group.cuont }}"\n');
    writeFileSync(
      path.join(rules, 'plain.yaml'),
      '- name: grouped\n  match: { provider: facesign }\n  group: { by: [subject] }\n  notify: [{ to: hook, template: typo }]\n',
    );
    const typo = await runHerald(['--config', writeRulesConfig(dir, rules, path.join(dir, 'templates')), 'check']);
    assert.equal(typo.code, 1, typo.stdout + typo.stderr);
    assert.match(typo.stdout + typo.stderr, /typo\/webhook\.yaml:2:\d+.*cuont/);
  });

  it('herald check reports a misspelt attribute path, a bad cron expression and an unknown time zone where they are', async () => {
    const rules = path.join(dir, 'rules');
    mkdirSync(rules);
    writeFileSync(
      path.join(rules, 'bad.yaml'),
      [
        '- name: by-typo',
        '  group: { by: [subjet] }',
        '  notify: [{ to: hook, template: group-summary }]',
        '- name: cron-typo',
        '  digest: { at: "0 25 * * *" }',
        '  notify: [{ to: hook, template: group-summary }]',
        '- name: zone-typo',
        '  digest: { at: "0 9 * * *", timezone: Europe/Berlni }',
        '  notify: [{ to: hook, template: group-summary }]',
        '- name: both',
        '  group: { by: [source] }',
        '  digest: { every: 1h }',
        '  notify: [{ to: hook, template: group-summary }]',
        '',
      ].join('\n'),
    );
    const result = await runHerald(['--config', writeConfig(dir, rules), 'check']);
    assert.equal(result.code, 1);
    const out = result.stdout + result.stderr;
    assert.match(out, /bad\.yaml:2:\d+.*\[0\]\.group\.by\[0\].*"subjet" is not an event attribute: did you mean "subject"\?/);
    assert.match(out, /bad\.yaml:5:\d+.*\[1\]\.digest\.at.*"0 25 \* \* \*" is not a cron expression/);
    assert.match(out, /bad\.yaml:8:\d+.*\[2\]\.digest\.timezone.*unknown time zone "Europe\/Berlni"/);
    assert.match(out, /bad\.yaml:1[12]:\d+.*\[3\]\.digest.*group or digest, not both/);
  });
});
