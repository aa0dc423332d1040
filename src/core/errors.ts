/**
 * herald's error classes. Messages say what was expected and what to do, and
 * never contain a secret or a personal value.
 */

/** One problem in a config, rule or template file, located by file and path. */
export interface ConfigIssue {
  file: string;
  /** Dotted path inside the file, e.g. `sources.kyc.secrets[0]`; empty for the whole file. */
  path: string;
  message: string;
  /** 1-based line and column when known. */
  line?: number;
  column?: number;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line ? `${issue.file}:${issue.line}:${issue.column ?? 1}` : issue.file;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** Every problem found in one check of the configuration, reported together. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(`${issues.length} configuration error${issues.length === 1 ? '' : 's'}:\n` + issues.map((i) => `  ${formatConfigIssue(i)}`).join('\n'));
    this.name = 'ConfigError';
  }
}

/**
 * Why an incoming webhook was refused. `status` is the HTTP reply; `reason` is
 * for logs and metrics only: the reply never says which check failed.
 */
export type RejectionReason =
  | 'signature-missing'
  | 'signature-malformed'
  | 'signature-mismatch'
  | 'timestamp-outside-tolerance'
  | 'token-mismatch'
  | 'header-mismatch'
  | 'malformed-json'
  | 'invalid-payload'
  | 'unsupported-media-type'
  | 'body-too-large';

export class RequestRejectedError extends Error {
  constructor(
    readonly status: 400 | 401 | 413 | 415 | 422,
    readonly reason: RejectionReason,
    detail?: string,
  ) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = 'RequestRejectedError';
  }
}

/** A webhook that failed its provider's signature, token or timestamp check (401). */
export class VerificationError extends RequestRejectedError {
  constructor(reason: RejectionReason, detail?: string) {
    super(401, reason, detail);
    this.name = 'VerificationError';
  }
}

/** The store could not durably write or read; the provider should retry (503). */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store cannot be opened as asked: a SQLite path that cannot be created,
 * a store that does not exist for a command that only reads, or a schema
 * older or newer than this herald's. The message names the store (never a
 * password) and says what to do.
 */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

/**
 * Why a delivery attempt failed, for the attempt record and metrics labels
 * (after Alertmanager's notify reasons).
 */
export type DeliveryFailureReason =
  'client-error' | 'server-error' | 'rate-limited' | 'auth-error' | 'timeout' | 'network' | 'refused-address' | 'render-failed' | 'exhausted' | 'expired';

/** What a failed attempt records besides its reason and message. */
export interface DeliveryErrorDetails {
  status?: number;
  retryAfterMs?: number;
  excerpt?: string;
}

/**
 * A failed delivery attempt, with the retry decision: `retryable` failures are
 * tried again on the schedule (no sooner than `retryAfterMs`), the others go
 * straight to the dead letters. `message` never holds a secret or a URL.
 * Where the decision is known at the call site, DeliveryError.retryable() and
 * DeliveryError.permanent() say it; the constructor is for a decision that is
 * a value (a status classified, an error rebuilt).
 */
export class DeliveryError extends Error {
  constructor(
    readonly retryable: boolean,
    readonly reason: DeliveryFailureReason,
    message: string,
    readonly details: DeliveryErrorDetails = {},
  ) {
    super(message);
    this.name = 'DeliveryError';
  }

  /** A failure that may pass on a later try: tried again on the schedule. */
  static retryable(reason: DeliveryFailureReason, message: string, details: DeliveryErrorDetails = {}): DeliveryError {
    return new DeliveryError(true, reason, message, details);
  }

  /** A failure that would fail again: straight to the dead letters. */
  static permanent(reason: DeliveryFailureReason, message: string, details: DeliveryErrorDetails = {}): DeliveryError {
    return new DeliveryError(false, reason, message, details);
  }
}

/** A replay asked for a rule that the rules in force do not have. */
export class UnknownRuleError extends Error {
  constructor(
    readonly rule: string,
    known: readonly string[],
  ) {
    super(`no rule "${rule}" in the rule files (${known.join(', ') || 'there are none'})`);
    this.name = 'UnknownRuleError';
  }
}

/**
 * A second `herald serve` on a SQLite file another running process serves
 * (src/store/sqlite/owner-lock.ts): it would send every delivery again.
 */
export class StoreOwnedError extends Error {
  constructor(
    readonly file: string,
    readonly owner: { pid: number; host: string; since: string } | undefined,
  ) {
    const who = owner ? `herald (pid ${owner.pid} on ${owner.host}, since ${owner.since})` : 'herald process';
    super(`${file} is served by another ${who}: stop it, or point this one at another store; only one herald may serve a SQLite file`);
    this.name = 'StoreOwnedError';
  }
}

/**
 * A provider API call made to enrich an event failed (pipeline/stages/enrich.ts).
 * The message is short and safe to store with the event: a status, the
 * provider's error type, or a network failure; never the API key.
 */
export class EnrichmentError extends Error {
  constructor(
    readonly retryable: boolean,
    message: string,
    /**
     * The API's HTTP status, and the wait it asked for (Retry-After) or herald's
     * rate limit imposes, in ms; `heldBack` when no call was made (the rate
     * limit, or a 429's pause): the try is due again after the wait, not backed off.
     */
    readonly details: { status?: number; retryAfterMs?: number; heldBack?: boolean } = {},
  ) {
    super(message);
    this.name = 'EnrichmentError';
  }
}

/**
 * Archiving a media event's file failed (pipeline/stages/media-archive.ts): the
 * download, or a check of what came back (host, size, type). The message is
 * stored with the event: it never holds the media URL, whose query is a
 * credential of the provider's.
 */
export class MediaArchiveError extends Error {
  constructor(
    readonly retryable: boolean,
    message: string,
    readonly details: { retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'MediaArchiveError';
  }
}
