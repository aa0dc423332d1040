/**
 * The operations commands directly on the store the config names: no running
 * herald is needed. With PostgreSQL any number of processes share it; a
 * SQLite file is owned by one running herald, but WAL mode lets these
 * commands read it and write short transactions meanwhile (a write waits up
 * to a second for the herald's lock), and the herald picks up what they made
 * pending within its poll interval.
 */
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { UnknownRuleError } from '../../core/errors.js';
import { eventDetail } from '../../pipeline/operator/event-detail.js';
import { maskPersonalFields, recordPiiRead } from '../../pipeline/operator/personal-data.js';
import { replayPage, type ReplayPageRequest } from '../../pipeline/operator/replay.js';
import { retryOneDelivery } from '../../pipeline/operator/retry-delivery.js';
import type { RoutingSet } from '../../pipeline/stages/route.js';
import { EVENT_PROVIDERS } from '../../providers/registry.js';
import { pageOf, type DeliveryFilter, type EventFilter, type Store } from '../../store/store.js';
import { loadSetupOrExit, loadStoreSettingOrExit } from '../config-option.js';
import { openExistingStore } from '../open-store.js';
import { cliActor } from './actor.js';
import { OpsError, type DeadLetterQuery, type DeadLetterRetry, type OpsBackend } from './backend.js';

export class StoreBackend implements OpsBackend {
  readonly where = 'in the store';
  private routing: RoutingSet | undefined;

  private constructor(
    private readonly store: Store,
    private readonly command: Command,
  ) {}

  /**
   * Opens the store the config names, as it is: never created, never
   * migrated (see open-store.ts). Needs only the store setting.
   */
  static async open(command: Command): Promise<StoreBackend> {
    return new StoreBackend(await openExistingStore(loadStoreSettingOrExit(command)), command);
  }

  async listEvents(filter: EventFilter) {
    const page = await pageOf((f: EventFilter) => this.store.listEvents(f), filter);
    return { ...page, items: page.items.map((event) => maskPersonalFields(event, EVENT_PROVIDERS)) };
  }

  async eventDetail(id: string, pii: 'redact' | 'include' = 'redact') {
    const detail = await eventDetail(this.store, id);
    if (!detail) return undefined;
    if (pii === 'redact') return { ...detail, event: maskPersonalFields(detail.event, EVENT_PROVIDERS) };
    await recordPiiRead(this.store, cliActor(), detail.event.id, { via: 'cli', host: hostname() });
    return detail;
  }

  listDeadLetters(query: DeadLetterQuery) {
    return pageOf((f: DeliveryFilter) => this.store.listDeliveries(f), { status: 'dead', ...query });
  }

  retryDeadLetters({ destination, rule, since }: DeadLetterRetry) {
    return this.store.retryDeadLetters({ destination, rule, sinceMs: since === undefined ? undefined : Date.parse(since) }, Date.now());
  }

  async retryDelivery(id: string) {
    const retry = await retryOneDelivery(this.store, id, Date.now());
    if (retry.status === 'unknown') throw new OpsError(`no delivery ${id} ${this.where}`);
    if (retry.status === 'refused') throw new OpsError(`cannot retry delivery ${id}: ${retry.reason}`);
  }

  async replayPage(request: ReplayPageRequest) {
    // Replay renders with the rules and templates in the config's folder; read them once, when first needed.
    // Replay receives nothing: the sources' webhook secrets need not be set.
    this.routing ??= loadSetupOrExit(this.command, { withoutSourceSecrets: true }).routing;
    try {
      return await replayPage(this.store, this.routing, EVENT_PROVIDERS, request);
    } catch (error) {
      if (error instanceof UnknownRuleError) throw new OpsError(error.message);
      throw error;
    }
  }

  setPaused(): Promise<never> {
    return Promise.reject(
      new OpsError('a pause lives in the memory of a running herald, not in the store: give --api <url> (or HERALD_API_URL) with HERALD_ADMIN_TOKEN'),
    );
  }

  close() {
    return this.store.close();
  }
}
