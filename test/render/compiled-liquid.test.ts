import assert from 'node:assert/strict';
import { CompiledLiquid } from '../../src/render/compiled-liquid.js';
import { TemplateRenderError } from '../../src/render/template-error.js';

/** Compiles and fails the test on problems. */
function compiled(source: string, file: string): CompiledLiquid {
  const result = CompiledLiquid.compile('text', source, { file, path: '' });
  assert.ok(result instanceof CompiledLiquid, `${file} did not compile`);
  return result;
}

describe('CompiledLiquid: one parse per source in a process', () => {
  it('parses an unchanged source once, so every herald started in the process shares the parse', () => {
    const source = '{{ event.type }} for {{ rule.name }} (shared parse)';
    const first = compiled(source, 'a/email.text.liquid');
    const second = compiled(source, 'b/email.text.liquid');
    const parsedOf = (c: CompiledLiquid) => (c as unknown as { parsed: unknown }).parsed;
    assert.equal(parsedOf(second), parsedOf(first));
    // Another kind of output escapes differently: its own parse.
    const html = CompiledLiquid.compile('html', source, { file: 'c/email.html.liquid', path: '' });
    assert.notEqual(parsedOf(html as CompiledLiquid), parsedOf(first));
  });

  it('still names the file each copy came from, in load and render errors', () => {
    const unknown = '{{ evnt.type }} (names its file)';
    for (const file of ['a/email.text.liquid', 'b/email.text.liquid']) {
      const issues = CompiledLiquid.compile('text', unknown, { file, path: '' });
      assert.ok(Array.isArray(issues));
      assert.deepEqual(
        issues.map((i) => [i.file, i.message]),
        [[file, 'unknown variable evnt: templates see event, rule, destination, events, group, throttle']],
      );
    }
    const strict = '{{ event.data.reason }} (render error names its file)';
    for (const file of ['a/email.text.liquid', 'b/email.text.liquid']) {
      const template = compiled(strict, file);
      assert.throws(
        () => template.render({ event: { data: {} } }, true),
        (error: unknown) => error instanceof TemplateRenderError && error.location.file === file,
      );
      assert.equal(template.render({ event: { data: { reason: 'ok' } } }, true), 'ok (render error names its file)');
    }
  });
});
