/** `herald migrate`: brings the store's schema up to date (herald serve also does at start-up). */
import { Command } from 'commander';
import { openStore } from '../../main.js';
import { loadConfigOrExit } from '../config-option.js';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description("bring the store's schema up to date")
    .action(async (_options, command: Command) => {
      const config = loadConfigOrExit(command);
      const store = openStore(config.store);
      try {
        const version = await store.migrate();
        process.stdout.write(`store schema is at version ${version}\n`);
      } finally {
        await store.close();
      }
    });
}
