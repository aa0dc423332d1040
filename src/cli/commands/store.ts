/** `herald store copy --from <url> --to <url>`: moves stored events and deliveries between stores (SQLite to PostgreSQL). */
import { Command } from 'commander';
import { copyStore } from '../../store/copy.js';
import { openExistingStore, openMigratedStore } from '../open-store.js';

export function storeCommand(): Command {
  const store = new Command('store').description('work with the store');
  store
    .command('copy')
    .description('copy every event, with its dedupe key, deliveries and attempts, from one store to another; stop herald first')
    .requiredOption('--from <url>', 'the store to read: sqlite:<path> or postgres://...')
    .requiredOption('--to <url>', 'the store to write (migrated first); what it already has is kept')
    .action(async (options: { from: string; to: string }) => {
      // The source is read as it is (its schema must be this herald's); the target is created or migrated.
      const from = await openExistingStore(options.from);
      const to = await openMigratedStore(options.to).then(
        ({ store }) => store,
        async (error: unknown) => {
          await from.close();
          throw error;
        },
      );
      try {
        const copied = await copyStore(from, to, {
          onBatch: (p) => process.stderr.write(`\r${p.events} events read, ${p.added} new`),
        });
        process.stderr.write('\n');
        process.stdout.write(`copied ${copied.added} events (${copied.events - copied.added} were already there)\n`);
      } finally {
        await Promise.allSettled([from.close(), to.close()]);
      }
    });
  return store;
}
