import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SlackMessage } from '../../src/core/message.js';
import { escapeMrkdwn, escapeSlackPlain } from '../../src/render/escape.js';
import { BLANK_TEXT, SLACK_LIMITS, TRUNCATION_MARKER, truncate } from '../../src/render/slack-limits.js';
import { loadTemplates } from '../../src/render/templates.js';
import { scopeFor, templatesFolder } from './helpers.js';

// Every text is the value alone, so what Slack receives can be compared with the value escaped.
const SLACK_YAML = `
text: "{{ event.data.text }}"
blocks:
  - type: header
    text: { type: plain_text, text: "{{ event.data.header }}" }
  - type: section
    text: { type: mrkdwn, text: "{{ event.data.section }}" }
    fields:
      - { type: mrkdwn, text: "{{ event.data.field }}" }
  - type: context
    elements:
      - { type: mrkdwn, text: "{{ event.data.context }}" }
`;
const set = loadTemplates(templatesFolder({ t: { 'slack.yaml': SLACK_YAML } }));

interface Payload {
  text: string;
  blocks: [{ text: { text: string } }, { text: { text: string }; fields: [{ text: string }] }, { elements: [{ text: string }] }];
}
const render = (data: Record<string, string>) => (set.render('t', 'slack', scopeFor({ data }, 'slack')) as SlackMessage).payload as unknown as Payload;

const HOSTILE_PIECES = [
  '"',
  '\\',
  '\n',
  '\r\n',
  '<script>',
  '</script>',
  '<!channel>',
  '<!here|here>',
  '<@U123>',
  '<#C1>',
  '<https://x.example|x>',
  '&',
  '&amp;',
  '&lt',
  '>',
  '😀',
  '👨‍👩‍👧',
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\u2028',
  '\ufeff',
  ' ',
];
const hostile = fc.oneof(
  fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 40 }).map((p) => p.join('')),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  // 20 kB and more: over every limit, with specials where the cut may fall.
  fc
    .tuple(fc.constantFrom(...HOSTILE_PIECES), fc.integer({ min: 20_000, max: 45_000 }))
    .map(([piece, size]) => `${piece}x`.repeat(Math.ceil(size / (piece.length + 1)))),
  fc.array(fc.constantFrom('&', '<', '>', '😀', 'a'), { minLength: 5_000, maxLength: 15_000 }).map((p) => p.join('')),
);

/** No lone surrogate: in a /u pattern a pair is one code point, so only a lone half matches \p{Cs}. */
const isWellFormed = (text: string) => !/\p{Cs}/u.test(text);

/** The text Slack gets for a value alone in a text field of `limit`. */
function expected(escaped: string, limit: number): string {
  if (escaped.trim() === '') return BLANK_TEXT;
  return escaped.length <= limit ? escaped : '(truncated)';
}

describe('Slack payloads', () => {
  it('from any event values: valid JSON, no < or > from the event, within the limits, cut with the marker', () => {
    fc.assert(
      fc.property(fc.record({ text: hostile, header: hostile, section: hostile, field: hostile, context: hostile }), (data) => {
        const payload = render(data);
        const json = JSON.stringify(payload);
        assert.deepEqual(JSON.parse(json), payload);

        const texts: Array<[string, string, number]> = [
          [payload.text, escapeMrkdwn(data.text), SLACK_LIMITS.text],
          [payload.blocks[0].text.text, escapeSlackPlain(data.header), SLACK_LIMITS.headerText],
          [payload.blocks[1].text.text, escapeMrkdwn(data.section), SLACK_LIMITS.sectionText],
          [payload.blocks[1].fields[0].text, escapeMrkdwn(data.field), SLACK_LIMITS.fieldText],
          [payload.blocks[2].elements[0].text, escapeMrkdwn(data.context), SLACK_LIMITS.contextText],
        ];
        for (const [text, escaped, limit] of texts) {
          assert.ok(isWellFormed(text), 'no lone surrogate, even where the text was cut');
          assert.doesNotMatch(text, /[<>]/);
          assert.doesNotMatch(text, /&(?!amp;|lt;|gt;)/, 'every & starts an escape');
          assert.ok(text.length <= limit, `${text.length} > ${limit}`);
          const want = expected(escaped, limit);
          if (want === '(truncated)') {
            assert.ok(text.endsWith(TRUNCATION_MARKER));
            assert.ok(escaped.startsWith(text.slice(0, -TRUNCATION_MARKER.length)), 'the kept part is the start of the value');
          } else {
            assert.equal(text, want);
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps at most 50 blocks, saying how many were dropped', () => {
    const blocks = Array.from({ length: 60 }, (_, i) => `  - { type: section, text: { type: mrkdwn, text: "block ${i}" } }`).join('\n');
    const many = loadTemplates(templatesFolder({ t: { 'slack.yaml': `text: many\nblocks:\n${blocks}` } }));
    const { payload } = many.render('t', 'slack', scopeFor({}, 'slack')) as SlackMessage;
    assert.equal(payload.blocks!.length, 50);
    assert.deepEqual(payload.blocks![48], { type: 'section', text: { type: 'mrkdwn', text: 'block 48', verbatim: true } });
    assert.deepEqual(payload.blocks![49], { type: 'context', elements: [{ type: 'mrkdwn', text: `${TRUNCATION_MARKER}: 11 more blocks` }] });
  });

  it('keeps at most 10 fields in a section and 10 elements in a context', () => {
    const items = Array.from({ length: 12 }, (_, i) => `      - { type: mrkdwn, text: "item ${i}" }`).join('\n');
    const yaml = `text: t\nblocks:\n  - type: section\n    fields:\n${items}\n  - type: context\n    elements:\n${items}`;
    const { payload } = loadTemplates(templatesFolder({ t: { 'slack.yaml': yaml } })).render('t', 'slack', scopeFor({}, 'slack')) as SlackMessage;
    const [section, context] = payload.blocks as Array<{ fields?: unknown[]; elements?: unknown[] }>;
    assert.equal(section!.fields!.length, 10);
    assert.equal(context!.elements!.length, 10);
  });

  it('replaces a text that rendered blank, which Slack would refuse', () => {
    const payload = render({ text: '', header: ' ', section: '\n', field: '', context: '' });
    assert.equal(payload.text, BLANK_TEXT);
    assert.equal(payload.blocks[0].text.text, BLANK_TEXT);
  });

  describe('truncate', () => {
    it('leaves a text within the limit alone', () => {
      assert.equal(truncate('abc', 3), 'abc');
    });

    it('never splits a surrogate pair', () => {
      const text = `${'a'.repeat(5)}😀😀😀😀😀😀😀😀😀😀😀😀😀😀`;
      for (let limit = TRUNCATION_MARKER.length + 1; limit < text.length; limit++) {
        const cut = truncate(text, limit);
        assert.ok(cut.length <= limit && isWellFormed(cut), `limit ${limit}: ${cut}`);
      }
    });

    it('never leaves half an escape', () => {
      const text = '&amp;'.repeat(10);
      for (let limit = TRUNCATION_MARKER.length + 1; limit < text.length; limit++) {
        assert.match(truncate(text, limit), /^(&amp;)*… \(truncated\)$/);
      }
    });
  });
});
