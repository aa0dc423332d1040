/** `herald dlq list|retry`: dead deliveries, and sending them again (on the store, or through a running herald's API). */
import { Command, Option } from 'commander';
import { apiOption, parseLimit, parseSince, printJson, withOpsBackend } from '../ops/ops-command.js';
import { isoTime, printable, renderTable } from '../table.js';

export function dlqCommand(): Command {
  const dlq = new Command('dlq').description('dead letters: deliveries that failed for good (on the store, or with --api through a running herald)');
  dlq
    .command('list')
    .description('dead deliveries, oldest first')
    .option('--destination <name>', 'only this destination')
    .option('--rule <name>', 'only this rule')
    .option('--after <id>', 'the cursor printed by the previous page')
    .addOption(new Option('--limit <n>', 'page size, 1 to 1000').default(100).argParser(parseLimit))
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (options: { destination?: string; rule?: string; after?: string; limit: number; json?: boolean }, command: Command) => {
      const { destination, rule, after, limit } = options;
      const page = await withOpsBackend(command, (ops) => ops.listDeadLetters({ destination, rule, after, limit }));
      if (options.json) return printJson({ deadLetters: page.items, nextCursor: page.nextCursor });
      process.stdout.write(
        renderTable(
          ['ID', 'EVENT', 'RULE', 'DESTINATION', 'ATTEMPTS', 'DIED', 'LAST ERROR'],
          page.items.map((d) => [d.id, d.eventId, d.rule, d.destination, d.attempts, isoTime(d.updatedAt), d.lastError]),
        ),
      );
      if (page.nextCursor) process.stdout.write(`more: --after ${printable(page.nextCursor)}\n`);
    });
  dlq
    .command('retry')
    .description('make dead deliveries pending and due now (their attempts are kept): one by id, or all matching the filter')
    .argument('[delivery]', 'one delivery id')
    .option('--destination <name>', 'only this destination')
    .option('--rule <name>', 'only this rule')
    .option('--since <time>', 'dead since: RFC 3339, or a duration back from now (24h)')
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (id: string | undefined, options: { destination?: string; rule?: string; since?: string; json?: boolean }, command: Command) => {
      const since = options.since === undefined ? undefined : parseSince(options.since, command);
      const retried = await withOpsBackend(command, async (ops) => {
        if (id === undefined) return ops.retryDeadLetters({ destination: options.destination, rule: options.rule, since });
        await ops.retryDelivery(id);
        return 1;
      });
      if (options.json) return printJson({ retried });
      process.stdout.write(`${retried} dead ${retried === 1 ? 'delivery' : 'deliveries'} made pending; a running herald sends them within a second\n`);
    });
  return dlq;
}
