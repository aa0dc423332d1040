/** `herald migrate`: brings the store's schema up to date (herald serve also does at start-up). */
import { Command } from 'commander';
import { loadStoreSettingOrExit } from '../config-option.js';
import { openMigratedStore } from '../open-store.js';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description("bring the store's schema up to date (creating the store when there is none)")
    .action(async (_options, command: Command) => {
      const { store, version } = await openMigratedStore(loadStoreSettingOrExit(command));
      try {
        process.stdout.write(`store schema is at version ${version}\n`);
      } finally {
        await store.close();
      }
    });
}
