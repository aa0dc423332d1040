/**
 * The logger as herald builds it, writing to real destinations: JSON lines by
 * default, pretty lines with HERALD_LOG_FORMAT=pretty, secrets censored in
 * both, and buffered lines flushed when asked (shutdown).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { pino } from 'pino';
import { censorSecrets, createLogger, LOG_FLUSH_MS, LOG_FORMATS, logSettingsFromEnv, LogSettingsError, type LogDestination } from '../../src/core/log.js';
import { tempDir } from '../helpers/herald.js';

const SECRETS = ['hooks.slack.com/services/T0/B0/SLACKxyz', 'whsec_TOPsecret', 'Bearer adminTOKEN', 'SMTPpass', 'tokenABC'];

/** Collects what the logger writes. */
function collector(): LogDestination & { text(): string } {
  const chunks: string[] = [];
  return { write: (chunk: string) => void chunks.push(chunk), text: () => chunks.join('') };
}

/** Logs what herald must never show, the way a careless caller could. */
function logSecrets(log: ReturnType<typeof createLogger>): void {
  log.warn(
    {
      destination: { name: 'crm', url: `https://${SECRETS[0]}`, secret: SECRETS[1] },
      request: { headers: { authorization: SECRETS[2] }, authorization: SECRETS[2] },
      smtp: { password: SECRETS[3] },
      source: { token: SECRETS[4], tokens: [SECRETS[4]], secrets: [SECRETS[1]] },
    },
    'breaker open',
  );
}

describe('logger', () => {
  it('reads its level and format from the environment, refusing what it cannot use', () => {
    assert.deepEqual(logSettingsFromEnv({}), { level: 'info', format: 'json' });
    assert.deepEqual(logSettingsFromEnv({ HERALD_LOG_LEVEL: 'debug', HERALD_LOG_FORMAT: 'pretty' }), { level: 'debug', format: 'pretty' });
    assert.throws(
      () => logSettingsFromEnv({ HERALD_LOG_FORMAT: 'fancy' }),
      (error: Error) => error instanceof LogSettingsError && error.message === 'HERALD_LOG_FORMAT is "json" (the default) or "pretty", not "fancy"',
    );
    assert.throws(
      () => logSettingsFromEnv({ HERALD_LOG_LEVEL: 'loud' }),
      /^LogSettingsError: HERALD_LOG_LEVEL is one of trace, debug, info, warn, error, fatal, silent, not "loud"$/,
    );
  });

  it('writes JSON lines by default', () => {
    const out = collector();
    const log = createLogger({ level: 'info', format: 'json' }, out);
    log.info({ source: 'kyc', status: 200 }, 'request');
    log.debug('below the level');
    const lines = out
      .text()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...lines[0], time: 0, pid: 0, hostname: '' },
      { level: 30, time: 0, pid: 0, hostname: '', service: 'herald', source: 'kyc', status: 200, msg: 'request' },
    );
  });

  it('writes one readable line per entry in pretty mode: time, level, message, fields', () => {
    const out = collector();
    const log = createLogger({ level: 'info', format: 'pretty' }, out);
    log.info({ source: 'kyc', status: 401, reason: 'signature-mismatch' }, 'request');
    log.error({ destination: 'crm' }, 'shutdown failed');
    const lines = stripVTControlCharacters(out.text()).split('\n');
    assert.equal(lines.length, 3, out.text());
    assert.match(
      lines[0]!,
      /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO: request \{"source":"kyc","status":401,"reason":"signature-mismatch"\}$/,
    );
    assert.match(lines[1]!, /\] ERROR: shutdown failed \{"destination":"crm"\}$/);
    assert.throws(() => JSON.parse(lines[0]!), 'not JSON');
    assert.ok(!lines[0]!.includes('service'), 'the constant service field is left out');
  });

  for (const format of LOG_FORMATS) {
    it(`censors secret-bearing fields in ${format} lines`, () => {
      const out = collector();
      logSecrets(createLogger({ level: 'info', format }, out));
      const text = out.text();
      assert.match(text, /breaker open/);
      assert.match(text, /\[redacted\]/);
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} in: ${text}`);
    });
  }

  /** A file destination buffered like herald's JSON lines: nothing reaches the file below 4 KiB unless flushed. */
  async function withBufferedFile(run: (destination: LogDestination, read: () => string) => Promise<void>): Promise<void> {
    const dir = tempDir();
    try {
      const file = path.join(dir, 'herald.log');
      const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
      await new Promise((resolve) => destination.once('ready', resolve));
      await run(destination, () => readFileSync(file, 'utf8'));
      destination.end();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('flushes buffered pretty lines when asked, as shutdown does', () =>
    withBufferedFile(async (destination, read) => {
      const log = createLogger({ level: 'info', format: 'pretty' }, destination);
      log.info('stopped');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(read(), '', 'still buffered');
      await new Promise<void>((resolve, reject) => log.flush((error) => (error ? reject(error) : resolve())));
      assert.match(stripVTControlCharacters(read()), /INFO: stopped\n$/);
    }));

  it('writes buffered JSON lines within LOG_FLUSH_MS unasked, so a quiet herald is not silent', () =>
    withBufferedFile(async (destination, read) => {
      const log = createLogger({ level: 'info', format: 'json' }, destination);
      log.info({ source: 'kyc' }, 'request');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(read(), '', 'buffered at first (one line is far below 4 KiB)');
      // Polled for three times the period, so that a busy machine's late timer cannot fail it.
      const deadline = Date.now() + 3 * LOG_FLUSH_MS;
      while (read() === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(read(), /"msg":"request"\}\n$/);
    }));

  it('censors secret-named fields at the top level and one level down, and never changes the object it was given', () => {
    const nested = { password: 'p4ss', ok: true };
    const fields = { smtp: 'smtp://u:p@mail', nested, destination: 'crm' };
    assert.deepEqual(censorSecrets(fields), { smtp: '[redacted]', nested: { password: '[redacted]', ok: true }, destination: 'crm' });
    assert.equal(fields.smtp, 'smtp://u:p@mail');
    assert.equal(nested.password, 'p4ss');
    const plain = { eventId: 'e1', status: 200, detail: { reason: 'timeout' } };
    assert.equal(censorSecrets(plain), plain, 'nothing secret: the same object, not a copy');
  });
});
