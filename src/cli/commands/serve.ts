/** `herald serve`: receives, routes and delivers until SIGTERM or SIGINT (a second signal exits at once). */
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
      const stop = (signal: string) => {
        if (stopping) process.exit(1);
        stopping = true;
        log.info({ signal }, 'shutting down: finishing requests in flight');
        herald.close().then(
          () => {
            log.info('stopped');
            log.flush(() => process.exit(0));
          },
          (error: unknown) => {
            log.error({ err: String(error) }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
