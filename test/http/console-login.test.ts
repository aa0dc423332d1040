/**
 * Signing in to the web console over plain HTTP (the browser tests drive the
 * pages): a name nobody has is refused like a wrong password, also on a
 * herald that had no console users until a config reload added one (it makes
 * the decoy hash, which an unknown name is checked against, only then).
 */
import assert from 'node:assert/strict';
import { loadRouting } from '../../src/app/setup.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const PASSWORD = 'correct horse battery staple';
/** Cheaper than herald's default cost: the test is about sign-in, not about scrypt. */
const TEST_COST = { ln: 10, r: 8, p: 1 };

describe('console sign-in', () => {
  let herald: TestHerald;

  before(async () => {
    herald = await startTestHerald();
  });
  after(async () => {
    await herald.stop();
  });

  /** Opens the sign-in form and posts it; returns the status and the page. */
  async function signIn(name: string, password: string): Promise<{ status: number; body: string }> {
    const form = await fetch(`${herald.url}/console/login`);
    const cookie = form.headers
      .getSetCookie()
      .find((c) => c.startsWith('herald_console_login='))!
      .split(';')[0]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const reply = await fetch(`${herald.url}/console/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      body: new URLSearchParams({ _csrf: csrf, name, password }).toString(),
      redirect: 'manual',
    });
    return { status: reply.status, body: await reply.text() };
  }

  it('refuses a name nobody has like a wrong password, once a reload has added the first user', async () => {
    assert.equal((await fetch(`${herald.url}/console/login`)).status, 404, 'no console without users');
    const users = [{ name: 'alice', passwordHash: await hashPassword(PASSWORD, TEST_COST), role: 'admin' as const }];
    herald.reload(loadRouting({ ...herald.config, console: { ...herald.config.console, users } }));

    const unknown = await signIn('nobody', PASSWORD);
    const wrong = await signIn('alice', 'not the password');
    assert.deepEqual([unknown.status, wrong.status], [401, 401]);
    assert.match(unknown.body, /Wrong name or password\./);
    assert.match(wrong.body, /Wrong name or password\./);
    assert.equal((await signIn('alice', PASSWORD)).status, 303);
  });
});
