/**
 * Starts herald from a checked setup: builds the store, the pipeline stages
 * and the HTTP server, wires them together, and stops them in order. With
 * open-store.ts and setup.ts, this folder is the composition root: the only
 * place that knows every concrete class.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { MediaDownloader } from '../channels/media-download.js';
import { SessionApiClient } from '../channels/session-api.js';
import type { HeraldConfig, MediaConfig } from '../core/config.js';
import type { NormalizedEvent } from '../core/event.js';
import { ConfigError, formatConfigIssue } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DataKeyring } from '../core/sealing.js';
import { createApp, type Lifecycle } from '../http/app.js';
import { createHttpServer } from '../http/server.js';
import { breakerOpenedAlert, ruleFailedAlert, type BreakerOpening } from '../pipeline/alerts/alert-event.js';
import { AlertMonitor } from '../pipeline/alerts/alert-monitor.js';
import { AlertRaiser } from '../pipeline/alerts/alert-raiser.js';
import { ClaimTakeover } from '../pipeline/upkeep/claim-takeover.js';
import { DeliverStage } from '../pipeline/stages/deliver.js';
import { DeliverThread, destinationsOf, type DeliveryRunner } from '../pipeline/stages/deliver-thread.js';
import { EnrichStage } from '../pipeline/stages/enrich.js';
import { Ingest } from '../pipeline/stages/ingest.js';
import { MediaArchiver } from '../pipeline/stages/media-archive.js';
import { MediaLinks } from '../pipeline/mechanisms/media-links.js';
import { HeraldMetrics } from '../pipeline/mechanisms/metrics.js';
import { QueueSnapshotCache } from '../pipeline/mechanisms/queue-snapshot-cache.js';
import { Readiness, type WatchedStage } from '../pipeline/mechanisms/readiness.js';
import { deadLetterRemovedDestinations, type ConfiguredDestinations } from '../pipeline/upkeep/removed-destinations.js';
import { schedulePruning } from '../pipeline/upkeep/retention.js';
import { RouteStage } from '../pipeline/stages/route.js';
import { EVENT_PROVIDERS, PROVIDERS } from '../providers/registry.js';
import { BatchStage } from '../pipeline/stages/batch.js';
import type { HeraldSetup } from './setup.js';
import type { MediaFiles } from '../store/media-files.js';
import { SealedMediaFiles } from '../store/sealed-media-files.js';
import type { SealedStore } from '../store/sealed-store.js';
import type { EventRouting, Store } from '../store/store.js';
import { openMediaFiles, openStore } from './open-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';

export interface RunningHerald {
  server: Server;
  store: Store;
  route: RouteStage;
  /** Sends the batches of rules with group, digest or throttle when due. */
  batches: BatchStage;
  /** Fetches what a provider's webhook leaves out (FaceSign's session) before routing. */
  enrich: EnrichStage;
  /** The deliver stage: on this thread, or on its own (`delivery.thread`: pipeline/deliver-thread.ts). */
  deliver: DeliveryRunner;
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The operations listener (`server.admin`), serving /metrics and /api, when configured. */
  adminServer?: Server;
  /** Its port actually bound. */
  adminPort?: number;
  /**
   * Swaps in a new, already checked setup (rules, templates, sources,
   * destinations) at once; deliveries already created keep their rendered
   * messages. Returns the changed settings that only a restart applies.
   */
  reload(next: HeraldSetup): string[];
  /**
   * Loads a new setup with `load` and swaps it in; when it fails its checks,
   * or anything in it throws, the running setup stays, the errors are logged,
   * counted and shown by the admin API (GET /api/health). Never throws.
   */
  reloadWith(load: () => HeraldSetup): { applied: boolean; errors: string[] };
  /** Stops accepting requests, lets the ones in flight finish, closes the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Start the route and deliver stages (default true); off for ingest-only runs. */
  stages?: boolean;
  /** Start the route stage (default: as `stages`); off, stored events wait unrouted (`serve --no-route`). */
  route?: boolean;
  /** Start the deliver stage (default: as `stages`); off, deliveries wait in the queue (`serve --no-deliver`). */
  deliver?: boolean;
  /** The receiver's clock (tests pin it to make receive times reproducible). */
  now?: () => number;
  /** The admin API's bearer token (default: $HERALD_ADMIN_TOKEN); without one, /api is off. */
  adminToken?: string;
  /** The clock of the enrich, route, batch and deliver stages and of readiness (tests inject one). */
  stageClock?: () => number;
  /** How long a stage may have work without progress before /readyz answers 503 (default 2 minutes). */
  stallMs?: number;
  /** How long a write waits for a SQLite lock held by another connection before the store answers unavailable (default 1 s; tests shorten it). */
  sqliteBusyTimeoutMs?: number;
  /** The keys that seal payloads at rest (default: from HERALD_DATA_KEY and HERALD_DATA_KEYS_OLD). */
  dataKeys?: DataKeyring;
  /** The clock of console sessions and sign-in throttling (tests inject one). */
  consoleClock?: () => number;
  /** The clock of operators' acts (audit entries, destinations' health) and of the queue snapshot they share with /metrics (tests inject one). */
  operatorClock?: () => number;
}

/** A stage with work and no progress for this long makes herald not ready. */
const STALL_MS = 120_000;

export async function startHerald(setup: HeraldSetup, log: Logger, options: StartOptions = {}): Promise<RunningHerald> {
  const { config } = setup;
  const store = await openStore(config.store, { keys: options.dataKeys, sqliteBusyTimeoutMs: options.sqliteBusyTimeoutMs });
  const claimant = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let media: MediaArchive | undefined;
  try {
    await store.migrate();
    // One serving process per SQLite file (a second one throws StoreOwnedError); on PostgreSQL, the lock that says this one lives.
    await store.startServing(claimant);
    // Claims left by a previous run: void for a store one process owns, live for a shared one.
    await store.recoverClaimsAtStartup();
    media = config.media && (await buildMediaArchive(config.media, config.server.publicUrl!, store));
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }

  // One reading of the queue every 5 s at most, for /metrics and the destinations' health alike.
  const queueSnapshots = new QueueSnapshotCache(() => store.queueSnapshot((options.operatorClock ?? Date.now)()), { now: options.operatorClock });
  const metrics = new HeraldMetrics(queueSnapshots);
  // What a config reload swaps, as one unit: the setup and the senders built from it.
  let current = { setup, destinations: destinationsOf(setup.config, store) };
  // The destinations in force, and since when: deliveries made before to any other wait for nobody.
  let configured: ConfiguredDestinations = { names: Object.keys(setup.config.destinations), since: Date.now() };
  const deadLetterRemoved = () =>
    deadLetterRemovedDestinations(store, configured, log).catch((error: unknown) =>
      log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'could not dead-letter the deliveries to removed destinations; retention will try again',
      ),
    );
  const alertSettings = () => current.setup.config.alerts;
  const alerts = new AlertRaiser({ store, log, metrics, everyMs: () => alertSettings().everyMs, onRaised: () => route.wake() });
  const onBreakerOpened = (destination: string, opening: BreakerOpening) => {
    if (alertSettings().enabled) void alerts.raise(breakerOpenedAlert(destination, opening));
  };
  const delivering = options.deliver ?? options.stages !== false;
  // Delivering on a thread of its own needs a second connection to the same store: a SQLite file (not
  // :memory:). A test's injected clock cannot cross to another thread: it keeps the stage on this one.
  // The thread seals and opens with the same data keys.
  const deliverThread =
    delivering && config.delivery.thread && store.inner instanceof SqliteStore && store.inner.file !== ':memory:' && !options.stageClock
      ? new DeliverThread({
          file: store.inner.file,
          gate: store.inner.gate,
          keys: store.keys,
          config,
          claimant: `${claimant}:deliver`,
          log,
          metrics,
          onBreakerOpened,
        })
      : undefined;
  const deliver: DeliveryRunner =
    deliverThread ??
    new DeliverStage({
      store,
      destinations: () => current.destinations,
      log,
      claimant,
      metrics,
      now: options.stageClock,
      onBreakerOpened,
    });
  // The routing in force, with the media links of this process's archive.
  const currentRouting = () => (media ? { ...current.setup.routing, mediaLinks: media.links } : current.setup.routing);
  const batches = new BatchStage({
    store,
    routing: currentRouting,
    providers: EVENT_PROVIDERS,
    log,
    claimant,
    metrics,
    onSent: () => deliver.wake(),
    now: options.stageClock,
  });
  const route = new RouteStage({
    store,
    routing: currentRouting,
    providers: EVENT_PROVIDERS,
    log,
    metrics,
    onRouted: () => deliver.wake(),
    now: options.stageClock,
    onBatched: () => batches.wake(),
    onRoutingError: (eventId, error) => {
      if (alertSettings().enabled) void alerts.raise(ruleFailedAlert(eventId, error));
    },
  });
  const takeover = new ClaimTakeover({ store, log, onReleased: () => (route.wake(), batches.wake(), deliver.wake()) });
  const enrich = new EnrichStage({
    store,
    sources: () => current.setup.config.sources,
    fetcher: (api) => new SessionApiClient(api),
    log,
    onEnriched: () => route.wake(),
    now: options.stageClock,
    archiver: media?.archiver,
    // A download may take its whole time-out: the event stays this process's meanwhile.
    ...(media && { leaseMs: Math.max(60_000, media.timeoutMs + 30_000) }),
  });
  const monitor = new AlertMonitor({ store, raiser: alerts, settings: alertSettings, paused: () => deliver.paused(), log });
  const routing = options.route ?? options.stages !== false;
  const ingest = new Ingest({
    sources: () => current.setup.config.sources,
    providers: PROVIDERS,
    store,
    now: options.now,
    metrics,
    media: config.media,
    onStored: () => {
      route.wake();
      enrich.wake();
    },
    // Where this process routes, each event is routed in the write that stores it (SQLite; PostgreSQL leaves it to the stage).
    ...(routing && { route: (event: NormalizedEvent) => route.planAtIngest(event), onRouted: (done: EventRouting) => route.routedAtIngest(done) }),
  });
  const lifecycle: Lifecycle = { shuttingDown: false };
  const stallMs = options.stallMs ?? STALL_MS;
  const watched = (): WatchedStage[] => [
    ...(routing ? [{ name: 'route', progress: route.progress, stallMs }] : []),
    // An attempt in flight may take its whole time-out before it counts as progress.
    ...(delivering ? [{ name: 'deliver', progress: deliver.progress, stallMs: Math.max(stallMs, 2 * longestTimeoutMs(current.destinations.policies)) }] : []),
  ];
  const readiness = new Readiness(store, watched, options.stageClock);
  // What the admin API and the console act on (pipeline/operator/operator-actions.ts).
  // A replay that fetches sessions again shares the enrich stage's lookups: one rate limit per source's API.
  const sessions = { sources: () => current.setup.config.sources, lookups: enrich.lookups };
  const operator = {
    store,
    deliver,
    routing: currentRouting,
    providers: EVENT_PROVIDERS,
    sessions,
    now: options.operatorClock,
    queueSnapshot: () => queueSnapshots.get(),
  };
  const adminToken = options.adminToken ?? process.env.HERALD_ADMIN_TOKEN;
  const admin = adminToken
    ? {
        ...operator,
        token: adminToken,
        mediaFiles: media?.files,
        health: async () => ({
          ...(await readiness.check()),
          shuttingDown: lifecycle.shuttingDown,
          configReload: lifecycle.reloadErrors ? { rejected: lifecycle.reloadErrors } : null,
        }),
      }
    : undefined;
  const consoleDeps = {
    ...operator,
    settings: () => current.setup.config.console,
    publicUrl: () => current.setup.config.server.publicUrl,
    log,
    sessionClock: options.consoleClock,
  };
  // The deliver thread is up before herald listens (and /readyz can answer 200): it takes a moment to load.
  await deliverThread?.start().catch(async (error: unknown) => {
    await store.close().catch(() => {});
    throw error;
  });
  const appDeps = {
    ingest,
    bodyLimitBytes: config.server.bodyLimitBytes,
    log,
    lifecycle,
    metrics,
    readiness,
    admin,
    metricsToken: config.server.metricsToken,
    trustProxy: config.server.trustProxy,
    console: consoleDeps,
    ...(media && { media: { store, files: media.files, links: media.links } }),
  };
  // With an operations listener, the webhook port serves no metrics and no API: its address can be public, theirs not.
  const operationsApart = config.server.admin !== undefined;
  const server = createHttpServer(createApp(appDeps, { webhooks: true, operations: !operationsApart }), config.server);
  const port = await listen(server, config.server.port, config.server.host).catch(async (error: unknown) => {
    await deliverThread?.stop();
    await store.close().catch(() => {});
    throw error;
  });
  let adminServer: Server | undefined;
  let adminPort: number | undefined;
  if (config.server.admin) {
    adminServer = createHttpServer(createApp(appDeps, { webhooks: false, operations: true }), config.server);
    try {
      adminPort = await listen(adminServer, config.server.admin.port, config.server.admin.host);
    } catch (error) {
      server.close();
      await deliverThread?.stop();
      await store.close();
      throw error;
    }
  }
  let stopPruning = () => {};
  const stages = options.stages !== false;
  // Enrichment is the first half of routing: a process that routes enriches.
  if (routing) {
    enrich.start();
    route.start();
    // A batch whose time passed while herald was down is due now: sent at start-up.
    batches.start();
  }
  // Alerts are about delivering: a process that does not deliver (serve --no-deliver) leaves them to those that do.
  if (delivering) {
    await deadLetterRemoved();
    if (!deliverThread) deliver.start();
    monitor.start();
  }
  if (stages) {
    stopPruning = schedulePruning(store, config.retentionMs, log, () => configured, media?.files);
    takeover.start();
  }

  const running: RunningHerald = {
    server,
    store,
    route,
    batches,
    enrich,
    deliver,
    port,
    adminServer,
    adminPort,
    reload(next: HeraldSetup): string[] {
      const previous = current;
      current = { setup: next, destinations: destinationsOf(next.config, store) };
      configured = { names: Object.keys(next.config.destinations), since: Date.now() };
      // The deliver thread holds the claims: it dead-letters the deliveries to removed destinations itself.
      if (deliverThread) deliverThread.reload(next.config, configured);
      else if (delivering) void deadLetterRemoved();
      // Attempts in flight keep their channel; closing waits for them.
      void Promise.allSettled(Object.values(previous.destinations.channels).map((channel) => channel.close()));
      enrich.wake();
      route.wake();
      if (routing) {
        void batches
          .scheduleEmptyDigests()
          .catch((error: unknown) =>
            log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not schedule the digests that send when empty'),
          );
        batches.wake();
      }
      deliver.wake();
      return settingsNeedingRestart(previous.setup.config, next.config);
    },
    reloadWith(load) {
      try {
        const restart = running.reload(load());
        lifecycle.reloadErrors = undefined;
        metrics.reloads.inc({ result: 'applied' });
        metrics.configValid.set(1);
        log.info({ rulesVersion: current.setup.routing.rules.version }, 'config reloaded');
        if (restart.length > 0) log.warn({ settings: restart }, 'these settings changed and apply only after a restart');
        return { applied: true, errors: [] };
      } catch (error) {
        // Whatever fails (a file that cannot be read, a bug), the running setup stays: a reload never stops herald.
        const errors =
          error instanceof ConfigError ? error.issues.map(formatConfigIssue) : [`the reload failed: ${error instanceof Error ? error.message : String(error)}`];
        lifecycle.reloadErrors = { at: new Date().toISOString(), errors };
        metrics.reloads.inc({ result: 'rejected' });
        metrics.configValid.set(0);
        for (const message of errors) log.error({ error: message }, 'config reload rejected; the previous config stays in force');
        return { applied: false, errors };
      }
    },
    async close() {
      lifecycle.shuttingDown = true;
      stopPruning();
      await takeover.stop();
      // Connections the kernel has completed but herald not yet accepted (a busy moment's listen backlog) are
      // clients in flight too: closing a listener resets them, and closing it closes connections that have sent
      // nothing yet. So first three turns of the event loop: the signal came in a poll phase, whose check phase
      // ends the first turn; the second's poll phase accepts the backlog, the third's reads their first bytes
      // (a request under way is not idle). One turn was not enough: 2 of 8 requests were reset in a busy run.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      // Stop accepting connections; requests in flight finish (their events are stored).
      await Promise.all(
        [server, adminServer].map(
          (listener) =>
            listener &&
            new Promise<void>((resolve) => {
              listener.close(() => resolve());
              listener.closeIdleConnections();
            }),
        ),
      );
      await enrich.stop();
      await route.stop();
      await batches.stop();
      // Attempts in flight finish and are recorded; unclaimed work stays queued.
      await deliver.stop();
      await monitor.stop();
      await alerts.drain();
      // With the store gone, the claims simply expire and are taken over later.
      await store
        .releaseClaims(claimant)
        .catch((error: unknown) => log.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not release claims at shutdown'));
      await Promise.allSettled(Object.values(current.destinations.channels).map((channel) => channel.close()));
      await media?.close();
      await store.close();
    },
  };
  return running;
}

/** The media archive of a process (README, "Media archive"): where the bytes go, how they are fetched, how links are signed. */
interface MediaArchive {
  files: MediaFiles;
  links: MediaLinks;
  archiver: MediaArchiver;
  timeoutMs: number;
  close(): Promise<void>;
}

async function buildMediaArchive(settings: MediaConfig, publicUrl: string, store: SealedStore): Promise<MediaArchive> {
  // Sealed with the store's data keys (README, "Encryption at rest"), wherever they are kept.
  const files = new SealedMediaFiles(openMediaFiles(settings, store), store.keys);
  const downloader = new MediaDownloader(settings);
  return {
    files,
    links: await MediaLinks.create(settings, publicUrl, store),
    archiver: new MediaArchiver({ store, files, media: settings, download: (url, now) => downloader.download(url, now) }),
    timeoutMs: settings.timeoutMs,
    close: () => downloader.close(),
  };
}

/** Binds a server; resolves with the port bound (useful with port 0). */
async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** The longest delivery time-out of the destinations. */
function longestTimeoutMs(policies: Record<string, { timeoutMs: number }>): number {
  return Math.max(0, ...Object.values(policies).map((policy) => policy.timeoutMs));
}

/** Settings a running process cannot change: where it listens and what it stores in. */
function settingsNeedingRestart(before: HeraldConfig, after: HeraldConfig): string[] {
  const changed: string[] = [];
  if (JSON.stringify(before.server) !== JSON.stringify(after.server)) changed.push('server');
  if (before.store !== after.store) changed.push('store');
  if (JSON.stringify(before.media) !== JSON.stringify(after.media)) changed.push('media');
  return changed;
}
