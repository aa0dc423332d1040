/** `herald serve`: runs the receiver until SIGTERM or SIGINT (a second signal exits at once). */
import { Command } from 'commander';
import { createLogger } from '../../core/log.js';
import { startHerald } from '../../main.js';
import { loadConfigOrExit } from '../config-option.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('receive, verify and store webhooks')
    .action(async (_options, command: Command) => {
      const config = loadConfigOrExit(command);
      const log = createLogger();
      const herald = await startHerald(config, log);
      log.info({ port: herald.port, sources: Object.keys(config.sources) }, 'herald is listening');

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
