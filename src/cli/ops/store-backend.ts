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
import { openMediaFiles } from '../../app/open-store.js';
import { sessionApiLookups } from '../../app/session-apis.js';
import type { HeraldSetup } from '../../app/setup.js';
import { eraseSubject } from '../../pipeline/operator/erase-subject.js';
import {
  readEventDetail,
  replayRange,
  retryDeadLetters,
  retryDelivery,
  type DeliveryControl,
  type Operator,
  type OperatorDeps,
} from '../../pipeline/operator/operator-actions.js';
import { maskPersonalFields } from '../../pipeline/operator/personal-data.js';
import type { ReplayPageRequest } from '../../pipeline/operator/replay.js';
import type { SessionLookups } from '../../pipeline/stages/session-lookup.js';
import { EVENT_PROVIDERS } from '../../providers/registry.js';
import { pageOf, type DeliveryFilter, type EventFilter, type Store } from '../../store/store.js';
import { loadMediaSettingOrExit, loadSetupOrExit, loadStoreSettingOrExit } from '../config-option.js';
import { openExistingStore } from '../open-store.js';
import { cliActor } from './actor.js';
import { OpsError, type DeadLetterQuery, type DeadLetterRetry, type OpsBackend } from './backend.js';

/**
 * No deliver stage here: a running herald finds what the commands made due by
 * polling. A pause lives in a running herald (setPaused below says so).
 */
const NO_DELIVER_STAGE: DeliveryControl = {
  pause() {},
  resume() {},
  paused: () => [],
  wake() {},
  breakerStates: () => ({}),
};

export class StoreBackend implements OpsBackend {
  readonly where = 'in the store';
  /** The setup read when first needed, and whether the sources' API keys had to be set for it. */
  private loaded: { setup: HeraldSetup; withSourceApis: boolean } | undefined;
  /** The sources' session APIs, for a replay that fetches sessions again. */
  private lookups: SessionLookups | undefined;
  /** The operator actions, audited like the admin API's, in the name of the user (actor.ts) on this machine. */
  private readonly deps: OperatorDeps;
  private readonly operator: Operator = { actor: cliActor(), via: 'cli', host: hostname() };

  private constructor(
    private readonly store: Store,
    private readonly command: Command,
  ) {
    this.deps = { store, deliver: NO_DELIVER_STAGE, routing: () => this.loadSetup(false).routing, providers: EVENT_PROVIDERS };
  }

  /**
   * The config with its rules and templates, read once when first needed.
   * Replay receives nothing, so no source secrets; one that fetches sessions
   * again needs the sources' API keys (`withSourceApis`).
   */
  private loadSetup(withSourceApis: boolean): HeraldSetup {
    if (!this.loaded || (withSourceApis && !this.loaded.withSourceApis)) {
      this.loaded = { setup: loadSetupOrExit(this.command, { withoutSourceSecrets: true, withSourceApis }), withSourceApis };
    }
    return this.loaded.setup;
  }

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

  eventDetail(id: string, pii: 'redact' | 'include' = 'redact') {
    return readEventDetail(this.deps, this.operator, id, pii);
  }

  listDeadLetters(query: DeadLetterQuery) {
    return pageOf((f: DeliveryFilter) => this.store.listDeliveries(f), { status: 'dead', ...query });
  }

  retryDeadLetters({ destination, rule, since }: DeadLetterRetry) {
    return retryDeadLetters(this.deps, this.operator, { destination, rule, sinceMs: since === undefined ? undefined : Date.parse(since) });
  }

  async retryDelivery(id: string) {
    const retry = await retryDelivery(this.deps, this.operator, id);
    if (retry.status === 'unknown') throw new OpsError(`no delivery ${id} ${this.where}`);
    if (retry.status === 'refused') throw new OpsError(`cannot retry delivery ${id}: ${retry.reason}`);
  }

  async replayPage(request: ReplayPageRequest) {
    let deps = this.deps;
    if (request.refreshSession) {
      const { config } = this.loadSetup(true);
      this.lookups ??= sessionApiLookups();
      deps = { ...deps, sessions: { sources: () => config.sources, lookups: this.lookups } };
    }
    try {
      return await replayRange(deps, this.operator, request);
    } catch (error) {
      if (error instanceof UnknownRuleError) throw new OpsError(error.message);
      throw error;
    }
  }

  eraseSubject(subject: string, dryRun: boolean) {
    // A subject's archived media are deleted too: where they are kept is in the config.
    const media = loadMediaSettingOrExit(this.command);
    const mediaFiles = media && openMediaFiles(media, this.store);
    return eraseSubject(this.store, subject, { dryRun, actor: cliActor(), detail: { via: 'cli', host: hostname() }, mediaFiles });
  }

  setPaused(): Promise<never> {
    return Promise.reject(
      new OpsError('a pause lives in the memory of a running herald, not in the store: give --api <url> (or HERALD_API_URL) with HERALD_ADMIN_TOKEN'),
    );
  }

  async close() {
    await this.lookups?.close();
    await this.store.close();
  }
}
