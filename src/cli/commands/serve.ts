/**
 * `herald serve`: receives, routes and delivers until SIGTERM or SIGINT. On
 * SIGHUP, or when the config, a rule file or a template changes, it checks
 * everything again and swaps the new setup in, or keeps the old one and says
 * why. On SIGTERM or SIGINT it
 * stops accepting connections, lets requests and delivery attempts in flight
 * finish, and exits; past `server.shutdownGrace`, or on a second signal, it
 * exits at once (nothing acknowledged is lost either way: events are stored
 * before their 2xx, and unfinished claims are taken over).
 */
import { Command } from 'commander';
import { StoreOwnedError } from '../../core/errors.js';
import { limitHeapGrowth } from '../../core/heap.js';
import { createLogger, logSettingsFromEnv, LogSettingsError, type LogSettings } from '../../core/log.js';
import { startHerald } from '../../app/start-herald.js';
import { loadSetup, type HeraldSetup } from '../../app/setup.js';
import { configFile, loadSetupOrExit } from '../config-option.js';
import { watchConfig } from '../config-watch.js';
import { CliError, EXIT } from '../exit.js';
import { storeError } from '../open-store.js';

export function serveCommand(): Command {
  return (
    new Command('serve')
      .description('receive webhooks, route them by the rules and deliver the notifications')
      // For benchmarks and maintenance: work left undone waits in the store for a later serve.
      .option('--no-route', 'only receive and store events; they wait unrouted')
      .option('--no-deliver', 'send nothing; deliveries wait in the queue')
      .action(async (options: { route: boolean; deliver: boolean }, command: Command) => {
        limitHeapGrowth();
        const setup = loadSetupOrExit(command);
        const log = createLogger(logSettingsOrExit(command));
        const herald = await startHerald(setup, log, { route: options.route, deliver: options.deliver }).catch((error: unknown) => {
          throw startFailure(error, setup);
        });
        log.info(
          {
            port: herald.port,
            adminPort: herald.adminPort,
            route: options.route,
            deliver: options.deliver,
            sources: Object.keys(setup.config.sources),
            rules: setup.routing.rules.rules.length,
            rulesVersion: setup.routing.rules.version,
          },
          'herald is listening',
        );

        // Live reload: on SIGHUP and whenever the config, a rule file or a template changes.
        const reload = () => herald.reloadWith(() => loadSetup(configFile(command)));
        process.on('SIGHUP', reload);
        const { config } = setup;
        const unwatch = watchConfig({ configFile: config.file, rulesDir: config.rulesDir, templatesDir: config.templatesDir }, reload);

        let stopping = false;
        const exit = (code: number) => log.flush(() => process.exit(code));
        const stop = (signal: string) => {
          if (stopping) {
            log.warn({ signal }, 'second signal: exiting now');
            return exit(1);
          }
          stopping = true;
          unwatch();
          log.info({ signal, graceMs: setup.config.server.shutdownGraceMs }, 'shutting down: finishing requests and deliveries in flight');
          setTimeout(() => {
            log.warn('shutdown grace period over: exiting now');
            exit(1);
          }, setup.config.server.shutdownGraceMs).unref();
          herald.close().then(
            () => {
              log.info('stopped');
              exit(0);
            },
            (error: unknown) => {
              log.error({ err: error instanceof Error ? error.message : String(error) }, 'shutdown failed');
              exit(1);
            },
          );
        };
        process.on('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGINT', () => stop('SIGINT'));
      })
  );
}

/** Why herald could not start, for people: the port, or the store. */
function startFailure(error: unknown, { config }: HeraldSetup): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${config.server.host}:${config.server.port}`;
  const setting = `server.port in ${config.file}, or PORT`;
  // Another herald serves this SQLite file: it names the file and the owner.
  if (error instanceof StoreOwnedError) return new CliError(error.message, EXIT.store);
  if (code === 'EADDRINUSE') return new CliError(`cannot listen on ${where}: the port is in use by another process (set ${setting})`, EXIT.network);
  if (code === 'EACCES') return new CliError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges; set ${setting})`, EXIT.network);
  if (code === 'EADDRNOTAVAIL')
    return new CliError(`cannot listen on ${where}: this machine has no such address (set server.host in ${config.file})`, EXIT.network);
  return storeError(error, config.store);
}

/** HERALD_LOG_LEVEL and HERALD_LOG_FORMAT; a value herald cannot use is printed, exit 1. */
function logSettingsOrExit(command: Command): LogSettings {
  try {
    return logSettingsFromEnv();
  } catch (error) {
    if (error instanceof LogSettingsError) command.error(error.message);
    throw error;
  }
}
