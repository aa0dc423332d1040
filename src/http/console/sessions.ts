/**
 * Console sign-ins: sessions and the throttle on wrong passwords. Both live in
 * the memory of the process that served the sign-in (README, "Console"): a
 * restart signs everyone out, and behind a load balancer with several herald
 * processes the console needs sticky sessions. The cookie carries a random
 * token; the book keeps only its SHA-256, so a heap dump holds no usable token.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ConsoleRole } from '../../core/config.js';

/** A session ends 12 hours after sign-in at the latest, however active. */
export const SESSION_MAX_MS = 12 * 3_600_000;

export interface ConsoleSession {
  user: string;
  role: ConsoleRole;
  /** The token every POST of this session carries (form field or header). */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A random token for a cookie or a form: 256 bits, URL-safe. */
export const newToken = () => randomBytes(32).toString('base64url');

export class SessionBook {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly idleMs: () => number,
    private readonly now: () => number,
  ) {}

  /** Starts a session; returns the token for the cookie. */
  create(user: string, role: ConsoleRole): { token: string; session: ConsoleSession } {
    this.prune();
    const token = newToken();
    const now = this.now();
    const session = { user, role, csrf: newToken(), createdAt: now, lastSeenAt: now };
    this.sessions.set(digest(token), session);
    return { token, session };
  }

  /** The live session of a token, its idle time restarted; undefined (and forgotten) once expired. */
  get(token: string | undefined): ConsoleSession | undefined {
    if (!token) return undefined;
    const key = digest(token);
    const session = this.sessions.get(key);
    if (!session) return undefined;
    const now = this.now();
    if (this.expired(session, now)) {
      this.sessions.delete(key);
      return undefined;
    }
    session.lastSeenAt = now;
    return session;
  }

  end(token: string | undefined): void {
    if (token) this.sessions.delete(digest(token));
  }

  private expired(session: ConsoleSession, now: number): boolean {
    return now - session.lastSeenAt >= this.idleMs() || now - session.createdAt >= SESSION_MAX_MS;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, session] of this.sessions) if (this.expired(session, now)) this.sessions.delete(key);
  }
}

/** After this many wrong passwords for one name, or from one address, within the window, sign-ins wait. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 15 * 60_000;

/**
 * Wrong passwords, counted per name and per client address: either reaching
 * MAX_FAILURES within FAILURE_WINDOW_MS blocks sign-ins for it until the
 * oldest failure leaves the window. A blocked sign-in is refused before the
 * password is checked, so guessing on cannot tell a right password.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  /** How long (ms) sign-ins for this name or from this address must wait; 0 when they may go ahead. */
  waitMs(name: string, address: string): number {
    return Math.max(this.wait(`name:${name}`), this.wait(`ip:${address}`));
  }

  failed(name: string, address: string): void {
    const now = this.now();
    for (const key of [`name:${name}`, `ip:${address}`]) this.failures.set(key, [...this.recent(key), now]);
  }

  /** A right password clears the name's failures (the address's stay: it may be guessing other names). */
  succeeded(name: string): void {
    this.failures.delete(`name:${name}`);
  }

  private recent(key: string): number[] {
    const since = this.now() - FAILURE_WINDOW_MS;
    const recent = (this.failures.get(key) ?? []).filter((at) => at > since);
    if (recent.length === 0) this.failures.delete(key);
    return recent;
  }

  private wait(key: string): number {
    const recent = this.recent(key);
    if (recent.length < MAX_FAILURES) return 0;
    return recent[recent.length - MAX_FAILURES]! + FAILURE_WINDOW_MS - this.now();
  }
}
