/**
 * Signing in to the web console over HTTP, as a browser's form does: the
 * sign-in form's cookie and CSRF token, then the post.
 */
import assert from 'node:assert/strict';

export interface SignInReply {
  status: number;
  body: string;
  /** Every Set-Cookie of the form and of the post. */
  cookies: string[];
}

/** The `name=value` of the cookie `name` among `setCookies` (the last one set), or undefined. */
export function cookieNamed(setCookies: readonly string[], name: string): string | undefined {
  return setCookies
    .filter((c) => c.startsWith(`${name}=`))
    .at(-1)
    ?.split(';')[0];
}

/** Opens the console's sign-in form at `baseUrl` and posts it (`headers` on both requests). */
export async function signInToConsole(baseUrl: string, name: string, password: string, headers: Record<string, string> = {}): Promise<SignInReply> {
  const form = await fetch(`${baseUrl}/console/login`, { headers });
  assert.equal(form.status, 200, 'the sign-in form');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const reply = await fetch(`${baseUrl}/console/login`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', cookie: cookieNamed(form.headers.getSetCookie(), 'herald_console_login')! },
    body: new URLSearchParams({ _csrf: csrf, name, password }).toString(),
    redirect: 'manual',
  });
  return { status: reply.status, body: await reply.text(), cookies: [...form.headers.getSetCookie(), ...reply.headers.getSetCookie()] };
}

/** Signs in and returns the session cookie (`herald_console=...`) to send with the console's pages. */
export async function consoleSession(baseUrl: string, name: string, password: string): Promise<string> {
  const reply = await signInToConsole(baseUrl, name, password);
  assert.equal(reply.status, 303, reply.body);
  return cookieNamed(reply.cookies, 'herald_console')!;
}
