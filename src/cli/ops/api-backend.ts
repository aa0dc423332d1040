/**
 * The operations commands through a running herald's admin API
 * (schema/openapi.json), with the token from HERALD_ADMIN_TOKEN. No config
 * file and no access to the store are needed, and the serving process acts
 * at once: it wakes its deliver stage for what is retried or replayed, and a
 * pause reaches the process that holds it.
 */
import type { DestinationView } from '../../channels/destination-view.js';
import type { NormalizedEvent } from '../../core/event.js';
import type { EventDetail } from '../../pipeline/operator/event-detail.js';
import type { ReplayPage, ReplayPageRequest } from '../../pipeline/operator/replay.js';
import type { Delivery, EventFilter, Page } from '../../store/store.js';
import { cliActor } from './actor.js';
import { AdminApiError, AdminClient } from './admin-client.js';
import { OpsError, type DeadLetterQuery, type DeadLetterRetry, type DestinationState, type OpsBackend } from './backend.js';

export class ApiBackend implements OpsBackend {
  readonly where: string;
  private readonly client: AdminClient;

  /** An OpsError when the URL is not one or the token is not set. */
  constructor(baseUrl: string, token: string | undefined) {
    if (!token) {
      throw new OpsError(
        'set HERALD_ADMIN_TOKEN to the admin token of the herald at --api (it is never taken from the command line, where ps and the shell history would show it)',
      );
    }
    this.client = new AdminClient(baseUrl, token, cliActor());
    this.where = `at ${this.client.where}`;
  }

  async listEvents(filter: EventFilter): Promise<Page<NormalizedEvent>> {
    const page = await this.client.get<{ events: NormalizedEvent[]; nextCursor: string | null }>('events', { ...filter });
    return { items: page.events, nextCursor: page.nextCursor };
  }

  async eventDetail(id: string, pii: 'redact' | 'include' = 'redact'): Promise<EventDetail | undefined> {
    try {
      return await this.client.get<EventDetail>(`events/${pathSegment('an event id', id)}`, pii === 'include' ? { pii } : {});
    } catch (error) {
      if (isMissing(error, 'event')) return undefined;
      throw error;
    }
  }

  async listDeadLetters(query: DeadLetterQuery): Promise<Page<Delivery>> {
    const page = await this.client.get<{ deadLetters: Delivery[]; nextCursor: string | null }>('dead-letters', { ...query });
    return { items: page.deadLetters, nextCursor: page.nextCursor };
  }

  async retryDeadLetters(retry: DeadLetterRetry): Promise<number> {
    return (await this.client.post<{ retried: number }>('dead-letters/retry', retry)).retried;
  }

  async retryDelivery(id: string): Promise<void> {
    try {
      await this.client.post(`deliveries/${pathSegment('a delivery id', id)}/retry`);
    } catch (error) {
      if (isMissing(error, 'delivery')) throw new OpsError(`no delivery ${id} ${this.where}`);
      if (error instanceof AdminApiError && error.status === 409) throw new OpsError(`cannot retry delivery ${id}: ${error.apiError ?? 'refused'}`);
      throw error;
    }
  }

  async replayPage(request: ReplayPageRequest): Promise<ReplayPage> {
    try {
      return await this.client.post<ReplayPage>('events/replay', request);
    } catch (error) {
      // An unknown rule (or a bad time) is the user's to fix: the API's message says which.
      if (error instanceof AdminApiError && error.status === 400 && error.apiError) throw new OpsError(error.apiError);
      throw error;
    }
  }

  async setPaused(destination: string, paused: boolean): Promise<DestinationState> {
    try {
      return await this.client.post<DestinationState>(`destinations/${pathSegment('a destination name', destination)}/${paused ? 'pause' : 'resume'}`);
    } catch (error) {
      if (isMissing(error, 'destination')) throw new OpsError(`no destination "${destination}" in the config of the herald ${this.where}`);
      throw error;
    }
  }

  /** The destination as the running herald has it (its public signing keys); undefined when it has none of that name. */
  async destination(name: string): Promise<DestinationView | undefined> {
    try {
      return await this.client.get<DestinationView>(`destinations/${encodeURIComponent(name)}`);
    } catch (error) {
      if (isMissing(error, 'destination')) return undefined;
      throw error;
    }
  }

  async close(): Promise<void> {}
}

/**
 * A name or id as one segment of an API path. An empty one, `.` or `..` is
 * refused before any request: the URL would name another route (`events/`
 * is the list of events) or a path step.
 */
function pathSegment(what: string, value: string): string {
  if (value === '' || value === '.' || value === '..') throw new OpsError(`give ${what}: "${value}" is not one`);
  return encodeURIComponent(value);
}

/**
 * Whether the API said it has no such `thing` (`{"error":"event not found"}`).
 * Any other 404 means the URL is not an admin API at all, and stays an error.
 */
function isMissing(error: unknown, thing: string): boolean {
  return error instanceof AdminApiError && error.status === 404 && error.apiError === `${thing} not found`;
}
