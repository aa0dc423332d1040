/**
 * The admin API's bearer token check. Both sides are hashed to one length
 * before the constant-time compare, so neither the comparison nor an early
 * length mismatch tells a caller how much of a guessed token was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { REPLY_BODIES } from './replies.js';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Whether an Authorization header carries `Bearer <token>`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  // Compare even without a token in the header, so a missing one takes as long as a wrong one.
  return timingSafeEqual(digest(match?.[1] ?? ''), digest(token)) && match !== null;
}

/** Replies 401 unless the request carries the token; `realm` names what it guards. */
export function requireBearer(token: string, realm = 'herald admin'): Middleware {
  return async (ctx, next) => {
    if (!bearerMatches(ctx.get('authorization') || undefined, token)) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Bearer realm="${realm}"`);
      ctx.body = REPLY_BODIES[401];
      return;
    }
    await next();
  };
}
