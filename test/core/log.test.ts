import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { censorSecrets, createLogger } from '../../src/core/log.js';

/** A logger writing into an array of parsed lines. */
function capture(): { lines: Array<Record<string, unknown>>; log: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger('info', stream) };
}

describe('the logger', () => {
  it('censors secret-named fields at the top level and one level down, keeping the rest', async () => {
    const { lines, log } = capture();
    log.warn({
      destination: 'crm', url: 'https://hooks.example/T0/B0/s3cr3t', token: 'tok-9',
      channel: { name: 'slack', headers: { authorization: 'Bearer x' }, secret: 'whsec_abc', status: 500 },
    }, 'attempt failed');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.destination, 'crm');
    assert.equal(line.url, '[redacted]');
    assert.equal(line.token, '[redacted]');
    assert.deepEqual(line.channel, { name: 'slack', headers: '[redacted]', secret: '[redacted]', status: 500 });
    assert.equal(line.msg, 'attempt failed');
    assert.doesNotMatch(JSON.stringify(line), /s3cr3t|tok-9|whsec_abc|Bearer/);
  });

  it('never changes the object it was given, and returns it as it is when nothing is secret', () => {
    const nested = { password: 'p4ss', ok: true };
    const fields = { smtp: 'smtp://u:p@mail', nested };
    const censored = censorSecrets(fields);
    assert.deepEqual(censored, { smtp: '[redacted]', nested: { password: '[redacted]', ok: true } });
    assert.equal(fields.smtp, 'smtp://u:p@mail');
    assert.equal(nested.password, 'p4ss');
    const plain = { eventId: 'e1', status: 200, detail: { reason: 'timeout' } };
    assert.equal(censorSecrets(plain), plain);
  });
});
