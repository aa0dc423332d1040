/** Console password hashes: scrypt in the PHC string format, and `herald console hash-password`. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { hashPassword, parsePasswordHash, PasswordHashFormatError, verifyPassword } from '../../src/core/password-hash.js';
import { HERALD_BIN } from '../helpers/cli.js';

/** Runs `herald console hash-password` with `input` on stdin. */
function hashWithCli(input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [HERALD_BIN, 'console', 'hash-password'], { timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

describe('console password hashes', () => {
  it('verifies the password it hashed and no other; each hash has its own salt', async () => {
    const cost = { ln: 10, r: 8, p: 1 };
    const [one, two] = [await hashPassword('correct horse battery', cost), await hashPassword('correct horse battery', cost)];
    assert.match(one, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(one, two);
    assert.equal(await verifyPassword('correct horse battery', one), true);
    assert.equal(await verifyPassword('correct horse batterY', one), false);
    assert.equal(await verifyPassword('', one), false);
  });

  it('reads a hash made elsewhere in the same format (passlib scrypt, RFC 7914 test vector parameters)', async () => {
    // RFC 7914 section 12: scrypt("password", "NaCl", N=1024, r=8, p=16, 64 bytes).
    const key = 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640';
    const encoded = `$scrypt$ln=10,r=8,p=16$${Buffer.from('NaCl').toString('base64').replace(/=+$/, '')}$${Buffer.from(key, 'hex').toString('base64').replace(/=+$/, '')}`;
    assert.equal(await verifyPassword('password', encoded), true);
  });

  it('refuses anything but a scrypt PHC string with a sane cost', () => {
    for (const text of [
      'hunter2',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    ]) {
      assert.throws(() => parsePasswordHash(text), PasswordHashFormatError, text);
    }
  });

  it('herald console hash-password prints a hash of the first line of stdin, and refuses a short password', async () => {
    const made = await hashWithCli('a long enough password\nsecond line ignored\n');
    assert.equal(made.code, 0, made.stderr);
    assert.equal(await verifyPassword('a long enough password', made.stdout.trim()), true);
    const short = await hashWithCli('short\n');
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 12/);
    assert.equal(short.stdout, '');
  });
});
