/** `herald dlq list|retry`: dead deliveries, and sending them again (directly on the store; a running herald picks them up). */
import { Command, Option } from 'commander';
import { pageOf, type DeliveryFilter } from '../../store/store.js';
import { parseLimit, parseSince, printJson, withConfigStore } from '../store-access.js';
import { isoTime, renderTable } from '../table.js';

export function dlqCommand(): Command {
  const dlq = new Command('dlq').description('dead letters: deliveries that failed for good (directly on the store)');
  dlq
    .command('list')
    .description('dead deliveries, oldest first')
    .option('--destination <name>', 'only this destination')
    .option('--rule <name>', 'only this rule')
    .option('--after <id>', 'the cursor printed by the previous page')
    .addOption(new Option('--limit <n>', 'page size, 1 to 1000').default(100).argParser(parseLimit))
    .option('--json', 'print JSON for scripts')
    .action(async (options: { destination?: string; rule?: string; after?: string; limit: number; json?: boolean }, command: Command) => {
      const filter: DeliveryFilter = { status: 'dead', destination: options.destination, rule: options.rule, after: options.after, limit: options.limit };
      const page = await withConfigStore(command, (store) => pageOf((f: DeliveryFilter) => store.listDeliveries(f), filter));
      if (options.json) return printJson({ deadLetters: page.items, nextCursor: page.nextCursor });
      process.stdout.write(renderTable(
        ['ID', 'EVENT', 'RULE', 'DESTINATION', 'ATTEMPTS', 'DIED', 'LAST ERROR'],
        page.items.map((d) => [d.id, d.eventId, d.rule, d.destination, d.attempts, isoTime(d.updatedAt), d.lastError]),
      ));
      if (page.nextCursor) process.stdout.write(`more: --after ${page.nextCursor}\n`);
    });
  dlq
    .command('retry')
    .description('make dead deliveries pending and due now (their attempts are kept): one by id, or all matching the filter')
    .argument('[delivery]', 'one delivery id')
    .option('--destination <name>', 'only this destination')
    .option('--rule <name>', 'only this rule')
    .option('--since <time>', 'dead since: RFC 3339, or a duration back from now (24h)')
    .option('--json', 'print JSON for scripts')
    .action(async (id: string | undefined, options: { destination?: string; rule?: string; since?: string; json?: boolean }, command: Command) => {
      const sinceMs = options.since === undefined ? undefined : Date.parse(parseSince(options.since, command));
      const retried = await withConfigStore(command, async (store) => {
        if (id === undefined) return store.retryDeadLetters({ destination: options.destination, rule: options.rule, sinceMs }, Date.now());
        if (await store.retryDelivery(id, Date.now())) return 1;
        const delivery = await store.getDelivery(id);
        command.error(delivery
          ? `delivery ${id} is ${delivery.status === 'delivered' ? 'delivered already' : 'without a message (its template failed): replay its event'}`
          : `no delivery ${id} in the store`);
      });
      if (options.json) return printJson({ retried });
      process.stdout.write(`${retried} dead ${retried === 1 ? 'delivery' : 'deliveries'} made pending; a running herald sends them within a second\n`);
    });
  return dlq;
}
