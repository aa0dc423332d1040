/**
 * Who runs an operations command, for the audit log: HERALD_ACTOR when set
 * (a shared account, a script), else the operating system's user name. It is
 * what the user says, not a proof: the admin token is shared.
 */
import { userInfo } from 'node:os';

export function cliActor(): string {
  if (process.env.HERALD_ACTOR) return process.env.HERALD_ACTOR;
  try {
    return userInfo().username;
  } catch {
    // A uid without a passwd entry (some containers).
    return `uid ${process.getuid?.() ?? 'unknown'}`;
  }
}
