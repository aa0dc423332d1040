/**
 * No event value can change how a message looks beyond its own text: not in
 * Slack (formatting, quotes, lines, links, emoji, mentions), not in email
 * (lines of the plain text, the subject line, HTML markup), not in webhook JSON.
 * The shipped templates with the hostile values of issue 14, then properties
 * over generated strings, each value placed where it is most dangerous.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EmailMessage, SlackMessage, WebhookMessage } from '../../src/core/message.js';
import { TRUNCATION_MARKER } from '../../src/render/slack-limits.js';
import { loadTemplates } from '../../src/render/templates.js';
import { sampleEvent, scopeFor, SHIPPED_TEMPLATES, templatesFolder } from './helpers.js';

const FORGED_ROWS = ' https://evil.example/login *APPROVED* `x` _y_ ~z~ :white_check_mark:\n*Decision*\nAPPROVED\n> quoted';

// ---------------------------------------------------------------------------------------------
// What a person sees, written independently of src/render/escape.ts.

/** Line breaks as a value holds them (CRLF is one). */
const LINE_BREAK = /\r\n|[\n\r\v\f\u0085\u2028\u2029]/g;
/** Characters that act on the screen instead of showing; tab is kept. */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
/** Characters that look the same: each group folds to its first member. */
const SAME_SHAPE = ['*∗', '_ˍ＿', '~∼～', '`ˋ｀', '＊﹡', ':∶', '>˃', '＞﹥'];
const FOLD = new Map([...SAME_SHAPE.flatMap((group) => [...group].map((c) => [c, group[0]!] as const))]);

/**
 * A value as a reader sees it: line breaks as the `↵` mark, other controls
 * written out (`\u001b`), look-alike characters folded together.
 */
function shown(value: string): string {
  return [...visible(value)].map((c) => FOLD.get(c) ?? c).join('');
}

/** A value on one line: line breaks as `↵`, other controls written out (`\u001b`); tab is kept. */
function visible(value: string): string {
  return value.replace(LINE_BREAK, '↵').replace(CONTROL, (c) => (c === '\t' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

const decodeSlack = (text: string) => text.replace(/&(amp|lt|gt);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name]!);
const decodeHtml = (text: string) =>
  text.replace(/&(amp|lt|gt|#34|#39);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', '#34': '"', '#39': "'" })[name]!);

/**
 * Whatever in a piece of mrkdwn could format, quote, break a line, link, mention or
 * show an emoji. `*` and `_` between two ASCII letters or digits cannot: Slack
 * formats only at word boundaries.
 */
function mrkdwnTokens(text: string): string[] {
  const tokens = [
    ...text.matchAll(/[\n\r\u2028\u2029<>~`＊＿～｀]|&(?!amp;|lt;|gt;)/g),
    ...text.matchAll(/(?<![A-Za-z0-9])[*_]|[*_](?![A-Za-z0-9])/g),
    ...text.matchAll(/:[A-Za-z0-9_+'-]*[A-Za-z_+'-][A-Za-z0-9_+'-]*:/g),
    ...text.matchAll(/^\s*(&gt;|＞)/g),
  ];
  return tokens.map((m) => m[0]);
}

// ---------------------------------------------------------------------------------------------
// Generated values: arbitrary text, and text made of every dangerous piece.

const PIECES = [
  '*',
  '_',
  '~',
  '`',
  '>',
  '<',
  '&',
  ':',
  '\n',
  '\r\n',
  '\r',
  '\u2028',
  '\u0085',
  '\t',
  ' ',
  'a',
  '1',
  'sess_8Kq',
  '10:13:24',
  '*APPROVED*',
  '_x_',
  '~x~',
  '```code```',
  '> quote',
  '&gt;',
  '&amp;',
  '<!channel>',
  '<https://x.example|x>',
  '<@U1>',
  'https://evil.example/login',
  'evil.example',
  'a@b.example',
  ':white_check_mark:',
  ':+1:',
  '＊',
  '＿',
  '～',
  '｀',
  '＞',
  '∗',
  'ˍ',
  '↵',
  '\u202e',
  '\u2066',
  '\u001b]0;x\u0007',
  '\u001b[2J',
  '\u0000',
  '\u009b',
  '😀',
  '👨‍👩‍👧',
  '"',
  "'",
  '\\',
];
const value = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 30 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
);

// The value at a line's start, inside bold, inside a code span, after text, alone.
const MRKDWN_PLACES = ['*Label*\n{{ event.v }}', '*{{ event.v }}*', '`{{ event.v }}`', 'Before {{ event.v }} after', '{{ event.v }}'];

describe('no event value changes how a message looks beyond its own text', () => {
  describe('the shipped templates and the forged rows of issue 14', () => {
    const set = loadTemplates(SHIPPED_TEMPLATES);
    const event = sampleEvent('legaltalent', 'kyc.session.rejected', (payload) => {
      (payload.data as Record<string, unknown>).customer_reference = `cust-1${FORGED_ROWS}`;
    });

    it('Slack: the customer reference shows as its characters on its own line, verbatim', () => {
      const { payload } = set.render('kyc-rejected', 'slack', scopeFor(event, 'slack')) as SlackMessage;
      const field = (payload.blocks![1] as { fields: Array<{ text: string; verbatim: boolean }> }).fields[1]!;
      assert.equal(
        field.text,
        '*Customer reference*\ncust-1 https://evil.example/login ∗APPROVED∗ ˋxˋ ˍyˍ ∼z∼ ∶white_check_mark:↵∗Decision∗↵APPROVED↵&gt; quoted',
      );
      assert.equal(field.verbatim, true, 'Slack makes no link of the URL');
      assert.deepEqual(mrkdwnTokens(field.text.slice('*Customer reference*\n'.length)), []);
      assert.match(payload.text, /\(customer cust-1 https:\/\/evil\.example\/login ∗APPROVED∗ .*↵∗Decision∗↵APPROVED↵&gt; quoted\),/);
      assert.doesNotMatch(payload.text, /\n/, 'the text is the template’s one line');
    });

    it('email text: the customer reference cannot forge a Decision row', () => {
      const { text, subject } = set.render('kyc-rejected', 'email', scopeFor(event, 'email')) as EmailMessage;
      assert.deepEqual(
        text.split('\n').filter((line) => /^\*?Decision/.test(line)),
        ['Decision:            rejected'],
      );
      assert.ok(
        text.includes('Customer reference:  cust-1 https://evil.example/login *APPROVED* `x` _y_ ~z~ :white_check_mark:↵*Decision*↵APPROVED↵> quoted\n'),
      );
      assert.doesNotMatch(subject, /[\r\n]/);
    });
  });

  describe('for any value', () => {
    const templates = loadTemplates(
      templatesFolder({
        slack: {
          'slack.yaml': [
            `text: ${JSON.stringify(MRKDWN_PLACES.join(' | '))}`,
            'blocks:',
            '  - type: header',
            '    text: { type: plain_text, text: "Header {{ event.v }}" }',
            '  - type: section',
            ...MRKDWN_PLACES.flatMap((place, i) => (i === 0 ? ['    fields:'] : []).concat(`      - { type: mrkdwn, text: ${JSON.stringify(place)} }`)),
            '  - type: context',
            '    elements: [{ type: mrkdwn, text: "At the end {{ event.v }}" }]',
          ].join('\n'),
        },
        email: {
          'email.subject.liquid': '[herald] Rejected: {{ event.v }} (risk 88)',
          'email.text.liquid': 'Customer:  {{ event.v }}\nDecision:  rejected\n',
          'email.html.liquid': '<p title="{{ event.v }}">{{ event.v }}</p>',
        },
        webhook: { 'webhook.yaml': 'value: "{{ event.v }}"\nmixed: "S: {{ event.v }}"' },
      }),
    );
    const render = (channel: 'slack' | 'email' | 'webhook', v: string) => templates.render(channel, channel, scopeFor({ v }, channel));

    /** Splits `text` rendered from `place` into the template's parts and the value's. */
    function valuePart(place: string, text: string): string {
      const [before, after] = place.split('{{ event.v }}') as [string, string];
      assert.ok(text.startsWith(before) && text.endsWith(after), `the template's own text is intact: ${JSON.stringify(text)}`);
      return text.slice(before.length, text.length - after.length);
    }

    it('Slack mrkdwn (top-level text, section fields, context): no formatting token, the value’s characters, verbatim', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { payload } = render('slack', v) as SlackMessage;
          const blocks = payload.blocks as [
            unknown,
            { fields: Array<{ text: string; verbatim: boolean }> },
            { elements: Array<{ text: string; verbatim: boolean }> },
          ];
          const placed: Array<[string, string]> = [
            ...(v.includes('|') ? [] : payload.text.split(' | ').map((text, i) => [MRKDWN_PLACES[i]!, text] as [string, string])),
            ...blocks[1].fields.map((field, i) => [MRKDWN_PLACES[i]!, field.text] as [string, string]),
            ['At the end {{ event.v }}', blocks[2].elements[0]!.text],
          ];
          for (const [place, text] of placed) {
            if (place === '{{ event.v }}' && v.trim() === '') continue; // a blank text is sent as `-`
            {
              const part = valuePart(place, text);
              assert.deepEqual(mrkdwnTokens(part), [], `${JSON.stringify(v)} in ${JSON.stringify(place)}`);
              assert.equal(shown(decodeSlack(part)), shown(v));
            }
          }
          for (const object of [...blocks[1].fields, ...blocks[2].elements]) assert.equal(object.verbatim, true);
        }),
        { numRuns: 300 },
      );
    });

    it('Slack plain_text: one line, `& < >` escaped, the value’s characters', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { payload } = render('slack', v) as SlackMessage;
          const header = (payload.blocks![0] as { text: { text: string } }).text.text;
          if (header.endsWith(TRUNCATION_MARKER)) return;
          const part = valuePart('Header {{ event.v }}', header);
          assert.doesNotMatch(part, /[\n\r\u2028\u2029<>]|&(?!amp;|lt;|gt;)/);
          assert.equal(decodeSlack(part), visible(v));
        }),
        { numRuns: 200 },
      );
    });

    it('email text: the template’s lines only, the value on its own line as its characters', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { text } = render('email', v) as EmailMessage;
          const lines = text.split('\n');
          assert.equal(lines.length, 3);
          assert.ok(lines[0]!.startsWith('Customer:  '));
          assert.equal(lines[1], 'Decision:  rejected');
          assert.doesNotMatch(text, /[\r\u2028\u2029\u0085\v\f\u001b\u009b\u202e]/);
          assert.equal(shown(lines[0]!.slice('Customer:  '.length)), shown(v));
        }),
        { numRuns: 300 },
      );
    });

    it('email subject: one line without control characters, the value’s characters', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { subject } = render('email', v) as EmailMessage;
          assert.doesNotMatch(subject, /[\p{Cc}\u2028\u2029]/u);
          assert.ok(subject.startsWith('[herald] Rejected: '));
          if ([...subject].length < 200) {
            // The subject collapses runs of spaces and tabs; a value's line breaks show as ↵.
            const squeeze = (s: string) => s.replace(/[\t ]+/g, ' ').trim();
            assert.equal(squeeze(subject), squeeze(`[herald] Rejected: ${visible(v)} (risk 88)`));
          }
        }),
        { numRuns: 300 },
      );
    });

    it('email HTML: no markup from the value; decoded, exactly the value', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { html } = render('email', v) as EmailMessage;
          const match = /^<p title="([^"<>]*)">([^<>"']*)<\/p>$/.exec(html!);
          assert.ok(match, `one element, the value inside: ${JSON.stringify(html)}`);
          assert.doesNotMatch(match[2]!, /&(?!amp;|lt;|gt;|#34;|#39;)/);
          assert.equal(decodeHtml(match[1]!), v);
          assert.equal(decodeHtml(match[2]!), v);
        }),
        { numRuns: 300 },
      );
    });

    it('webhook JSON: parses back to exactly the value', () => {
      fc.assert(
        fc.property(value, (v) => {
          const { body } = render('webhook', v) as WebhookMessage;
          const sent = JSON.parse(JSON.stringify(body)) as { data: { value: string; mixed: string } };
          assert.equal(sent.data.value, v);
          assert.equal(sent.data.mixed, `S: ${v}`);
        }),
        { numRuns: 300 },
      );
    });
  });
});
