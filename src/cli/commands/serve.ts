/**
 * `herald serve`: receives, routes and delivers until SIGTERM or SIGINT. Then it
 * stops accepting connections, lets requests and delivery attempts in flight
 * finish, and exits; past `server.shutdownGrace`, or on a second signal, it
 * exits at once (nothing acknowledged is lost either way: events are stored
 * before their 2xx, and unfinished claims expire and are taken over).
 */
import { Command } from 'commander';
import { createLogger } from '../../core/log.js';
import { startHerald } from '../../main.js';
import { loadSetupOrExit } from '../config-option.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('receive webhooks, route them by the rules and deliver the notifications')
    .action(async (_options, command: Command) => {
      const setup = loadSetupOrExit(command);
      const log = createLogger();
      const herald = await startHerald(setup, log);
      log.info(
        { port: herald.port, sources: Object.keys(setup.config.sources), rules: setup.routing.rules.rules.length, rulesVersion: setup.routing.rules.version },
        'herald is listening',
      );

      let stopping = false;
      const exit = (code: number) => log.flush(() => process.exit(code));
      const stop = (signal: string) => {
        if (stopping) {
          log.warn({ signal }, 'second signal: exiting now');
          return exit(1);
        }
        stopping = true;
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
    });
}
