import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EmailMessage } from '../../src/core/message.js';
import { SUBJECT_MAX_CHARACTERS, subjectLine } from '../../src/render/email-template.js';
import { loadTemplates } from '../../src/render/templates.js';
import { scopeFor, templatesFolder } from './helpers.js';

describe('email rendering', () => {
  const set = loadTemplates(
    templatesFolder({
      both: {
        'email.subject.liquid': '[herald] {{ event.subject }}\n',
        'email.text.liquid': 'Hello\n{{ event.subject }}\n',
        'email.html.liquid': '<b>{{ event.subject }}</b>',
      },
      plain: { 'email.subject.liquid': 'S', 'email.text.liquid': 'T' },
    }),
  );
  const render = (name: string, subject: unknown) => set.render(name, 'email', scopeFor({ subject }, 'email')) as EmailMessage;

  it('renders subject, text and HTML', () => {
    assert.deepEqual(render('both', 'kyc_1'), { channel: 'email', subject: '[herald] kyc_1', text: 'Hello\nkyc_1\n', html: '<b>kyc_1</b>' });
  });

  it('has no html without email.html.liquid', () => {
    assert.deepEqual(render('plain', 'x'), { channel: 'email', subject: 'S', text: 'T' });
  });

  it('makes the subject one line without control characters, whatever the event holds', () => {
    // A value's line breaks show as ↵ and its control characters written out; the template's own line break is a space.
    assert.equal(
      render('both', 'a\r\nBcc: victim@example.com\n\tb\u0000c\u0007\u001b[0m\u2028d').subject,
      '[herald] a↵Bcc: victim@example.com↵ b\\u0000c\\u0007\\u001b[0m↵d',
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (value) => {
        const { subject } = render('both', value);
        assert.doesNotMatch(subject, /[\p{Cc}\u2028\u2029]/u);
        assert.ok([...subject].length <= SUBJECT_MAX_CHARACTERS);
      }),
    );
  });

  it('cuts a long subject to 200 characters, ending with …', () => {
    const subject = render('both', '😀'.repeat(300)).subject;
    assert.equal([...subject].length, 200);
    assert.ok(subject.startsWith('[herald] 😀😀'));
    assert.ok(subject.endsWith('😀…'));
  });

  it('subjectLine keeps a short line as it is', () => {
    assert.equal(subjectLine('  KYC  session   rejected '), 'KYC session rejected');
  });
});
