/**
 * Signing in to the web console over plain HTTP (the browser tests drive the
 * pages): a name nobody has is refused like a wrong password, also on a
 * herald that had no console users until a config reload added one (it makes
 * the decoy hash, which an unknown name is checked against, only then); and
 * the cookies' attributes, over plain HTTP and behind a TLS-terminating proxy;
 * and whose address counts for the sign-in limit and the audit log, with and
 * without server.trustProxy.
 */
import assert from 'node:assert/strict';
import { loadRouting } from '../../src/app/setup.js';
import type { HeraldConfig } from '../../src/core/config.js';
import { hashPassword } from '../../src/core/password-hash.js';
import { MAX_FAILURES } from '../../src/http/console/sessions.js';
import { testConfig } from '../helpers/config.js';
import { signInToConsole } from '../helpers/console.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';

const PASSWORD = 'correct horse battery staple';
/** Cheaper than herald's default cost: the test is about sign-in, not about scrypt. */
const TEST_COST = { ln: 10, r: 8, p: 1 };

/** Opens `herald`'s sign-in form and posts it (`headers` on both requests). */
const signInTo = (herald: TestHerald, name: string, password: string, headers: Record<string, string> = {}) =>
  signInToConsole(herald.url, name, password, headers);

describe('console sign-in', () => {
  let herald: TestHerald;

  before(async () => {
    herald = await startTestHerald();
  });
  after(async () => {
    await herald.stop();
  });

  const signIn = (name: string, password: string, headers: Record<string, string> = {}) => signInTo(herald, name, password, headers);

  /** The attributes of the cookie `name` among `setCookies`, lower-cased, without its value. */
  const attributesOf = (setCookies: string[], name: string) =>
    setCookies
      .find((c) => c.startsWith(`${name}=`) && !c.startsWith(`${name}=;`))!
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());

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

  it('sets the session cookie HttpOnly, SameSite=Strict, on /console, expiring; Secure only behind HTTPS', async () => {
    // Runs after the test above, which made alice.
    const plain = await signIn('alice', PASSWORD);
    assert.equal(plain.status, 303);
    const session = attributesOf(plain.cookies, 'herald_console');
    for (const attribute of ['httponly', 'samesite=strict', 'path=/console']) assert.ok(session.includes(attribute), `${attribute} in ${session.join('; ')}`);
    assert.ok(
      session.some((a) => a.startsWith('expires=')),
      `the cookie expires: ${session.join('; ')}`,
    );
    assert.ok(!session.includes('secure'), 'not Secure over plain HTTP: the browser would not send it back');
    assert.ok(attributesOf(plain.cookies, 'herald_console_login').includes('httponly'));

    // A TLS-terminating proxy in front of herald says so: the form and the sign-in work, and both cookies are Secure.
    const proxied = await signIn('alice', PASSWORD, { 'x-forwarded-proto': 'https' });
    assert.equal(proxied.status, 303, proxied.body);
    for (const name of ['herald_console', 'herald_console_login']) {
      const attributes = attributesOf(proxied.cookies, name);
      assert.ok(
        attributes.includes('secure') && attributes.includes('httponly') && attributes.includes('samesite=strict'),
        `${name}: ${attributes.join('; ')}`,
      );
    }
  });
});

describe('console sign-in behind a reverse proxy', () => {
  /** Two heralds with alice, one trusting its proxy's X-Forwarded-For (server.trustProxy), one not. */
  async function heraldWith(trustProxy: boolean): Promise<TestHerald> {
    const users = [{ name: 'alice', passwordHash: await hashPassword(PASSWORD, TEST_COST), role: 'admin' as const }];
    const base: HeraldConfig = testConfig('sqlite::memory:');
    return startTestHerald({ server: { ...base.server, trustProxy }, console: { ...base.console, users } });
  }
  /** As a proxy in front of herald forwards a request from `client`, after one that a client says came from 10.9.9.9. */
  const from = (client: string) => ({ 'x-forwarded-for': `10.9.9.9, ${client}` });

  it('with trustProxy, limits and audits the address the nearest proxy saw, not its own nor what a client claims', async () => {
    const herald = await heraldWith(true);
    try {
      for (let i = 0; i < MAX_FAILURES; i++) assert.equal((await signInTo(herald, `guess${i}`, 'wrong', from('203.0.113.7'))).status, 401);
      assert.equal((await signInTo(herald, 'alice', 'wrong', from('203.0.113.7'))).status, 429, 'the guessing address waits');
      assert.equal((await signInTo(herald, 'alice', PASSWORD, from('198.51.100.2'))).status, 303, 'another client behind the same proxy signs in');
      const [login] = await herald.store.listAudit({ action: 'console.login' });
      assert.equal(login!.detail?.remoteAddress, '198.51.100.2');
    } finally {
      await herald.stop();
    }
  });

  it('without trustProxy, X-Forwarded-For is ignored: every request comes from the proxy', async () => {
    const herald = await heraldWith(false);
    try {
      for (let i = 0; i < MAX_FAILURES; i++) assert.equal((await signInTo(herald, `guess${i}`, 'wrong', from('203.0.113.7'))).status, 401);
      assert.equal((await signInTo(herald, 'alice', PASSWORD, from('198.51.100.2'))).status, 429);
    } finally {
      await herald.stop();
    }
  });
});
