/**
 * A client of herald's admin API (schema/openapi.json) for the CLI, on
 * Node's own fetch. Every failure becomes an AdminApiError whose message says
 * what went wrong and what to do, for the user to read: it names the URL and
 * the status, and never the token, which only ever goes in the Authorization
 * header, and never to another address (redirects are not followed).
 */
import { OpsError } from './backend.js';

/** A reply of the admin API other than a 2xx, or no reply at all. */
export class AdminApiError extends OpsError {
  constructor(
    message: string,
    /** The HTTP status; undefined when herald could not be reached. */
    readonly status?: number,
    /** The API's own `error` text, when it sent one. */
    readonly apiError?: string,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

type Query = Record<string, string | number | undefined>;

/** Long enough for a replay page of 1,000 events on a busy store. */
const TIMEOUT_MS = 60_000;

export class AdminClient {
  /** The URL for messages: the base as given, without a trailing slash. */
  readonly where: string;
  private readonly base: URL;

  /**
   * `baseUrl` is herald's own address (http://host:port, or with a proxy's path prefix), without /api;
   * `actor`, when given, is sent as X-Herald-Actor for herald's audit log.
   */
  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly actor?: string,
  ) {
    const url = URL.canParse(baseUrl) ? new URL(baseUrl) : undefined;
    if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
      throw new AdminApiError(`--api takes the http:// or https:// URL of a running herald, e.g. http://127.0.0.1:8080, not "${baseUrl}"`);
    }
    // The token comes from HERALD_ADMIN_TOKEN only; credentials in a URL would show in `ps` and shell history.
    if (url.username || url.password) throw new AdminApiError('--api takes a URL without credentials: the token comes from HERALD_ADMIN_TOKEN');
    if (url.search || url.hash) throw new AdminApiError('--api takes the URL of a running herald without a query or fragment, e.g. http://127.0.0.1:8080');
    if (!url.pathname.endsWith('/')) url.pathname += '/';
    this.base = url;
    this.where = url.href.replace(/\/$/, '');
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, {}, body);
  }

  private async request<T>(method: 'GET' | 'POST', path: string, query: Query, body?: unknown): Promise<T> {
    const url = new URL(`api/${path}`, this.base);
    for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, String(value));
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(this.actor !== undefined && { 'x-herald-actor': headerSafe(this.actor) }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw new AdminApiError(this.unreachable(error));
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.ok) {
      if (json === undefined) throw new AdminApiError(`${this.where} answered ${response.status} without JSON: is it a herald?`, response.status);
      return json as T;
    }
    const apiError = typeof (json as { error?: unknown } | undefined)?.error === 'string' ? (json as { error: string }).error : undefined;
    throw new AdminApiError(this.refusal(response, apiError), response.status, apiError);
  }

  /** Why no reply came: the cause's code says more than fetch's "fetch failed". */
  private unreachable(error: unknown): string {
    if (error instanceof Error && error.name === 'TimeoutError') return `the herald at ${this.where} did not answer within ${TIMEOUT_MS / 1000} s`;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    switch (cause?.code) {
      case 'ECONNREFUSED':
        return `could not connect to ${this.where}: connection refused (is herald serve running there, on that port?)`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `could not connect to ${this.where}: the host name does not resolve`;
      default:
        return `could not connect to ${this.where}: ${cause?.message ?? (error instanceof Error ? error.message : String(error))}`;
    }
  }

  /** What a non-2xx reply means for the user. */
  private refusal(response: Response, apiError: string | undefined): string {
    const status = response.status;
    if (status === 401) {
      return `the herald at ${this.where} refused the admin token (401): set HERALD_ADMIN_TOKEN to the token herald serve runs with`;
    }
    if (status === 404) {
      return `no herald admin API at ${this.where} (404): give --api the herald's own URL (without /api), and run herald serve there with HERALD_ADMIN_TOKEN set`;
    }
    if (status >= 300 && status < 400) {
      return `${this.where} answered ${status} with a redirect to ${response.headers.get('location') ?? 'nowhere'}: give --api that URL (redirects are not followed, so the token goes nowhere else)`;
    }
    return `the herald at ${this.where} answered ${status}${apiError ? `: ${apiError}` : ''}`;
  }
}

/** A header value fetch accepts: Latin-1 without control characters (anything else becomes "?"). */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
}
