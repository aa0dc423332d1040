/** `herald events list|show`: stored events, their deliveries and attempts, from the store or a running herald's API. */
import { Command, Option } from 'commander';
import type { EventFilter } from '../../store/store.js';
import { OpsError } from '../ops/backend.js';
import { apiOption, parseLimit, parseSince, printJson, withOpsBackend } from '../ops/ops-command.js';
import { isoTime, printable, renderTable } from '../table.js';

interface ListOptions {
  source?: string;
  provider?: string;
  type?: string;
  outcome?: string;
  subject?: string;
  since?: string;
  until?: string;
  after?: string;
  limit: number;
  json?: boolean;
}

export function eventsCommand(): Command {
  const events = new Command('events').description('list and show stored events (on the store, or with --api through a running herald)');
  events
    .command('list')
    .description('events in the order received, filtered')
    .option('--source <name>', 'configured source')
    .option('--provider <id>', 'provider (facesign, faceio, legaltalent, owleyes)')
    .option('--type <type>', "the provider's event type")
    .option('--outcome <outcome>', 'normalized outcome, e.g. rejected')
    .option('--subject <id>', 'the session, face or verification id')
    .option('--since <time>', 'received at or after: RFC 3339, or a duration back from now (24h)')
    .option('--until <time>', 'received before: RFC 3339, or a duration back from now')
    .option('--after <id>', 'the cursor printed by the previous page')
    .addOption(new Option('--limit <n>', 'page size, 1 to 1000').default(100).argParser(parseLimit))
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (options: ListOptions, command: Command) => {
      const filter: EventFilter = {
        source: options.source,
        provider: options.provider,
        type: options.type,
        outcome: options.outcome,
        subject: options.subject,
        since: options.since === undefined ? undefined : parseSince(options.since, command),
        until: options.until === undefined ? undefined : parseSince(options.until, command, '--until'),
        after: options.after,
        limit: options.limit,
      };
      const page = await withOpsBackend(command, (ops) => ops.listEvents(filter));
      if (options.json) return printJson({ events: page.items, nextCursor: page.nextCursor });
      process.stdout.write(
        renderTable(
          ['ID', 'RECEIVED', 'SOURCE', 'TYPE', 'OUTCOME', 'SUBJECT'],
          page.items.map((e) => [e.id, e.receivedAt, e.source, e.type, e.outcome, e.subject]),
        ),
      );
      if (page.nextCursor) process.stdout.write(`more: --after ${printable(page.nextCursor)}\n`);
    });
  events
    .command('show')
    .description('one event with its deliveries and every attempt')
    .argument('<id>', 'event id')
    .option(
      '--pii',
      "show the event's personal fields (masked by default); the reading is written to herald's audit log, in the name of HERALD_ACTOR or your user name",
    )
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (id: string, options: { json?: boolean; pii?: boolean }, command: Command) => {
      const found = await withOpsBackend(command, async (ops) => {
        const detail = await ops.eventDetail(id, options.pii ? 'include' : 'redact');
        if (!detail) throw new OpsError(`no event ${id} ${ops.where}`);
        return detail;
      });
      if (options.json) return printJson(found);
      const { event, deliveries, routingErrors } = found;
      const p = printable;
      process.stdout.write(
        `${p(event.id)}  ${p(event.source)}  ${p(event.type)}  outcome ${p(event.outcome)}  subject ${p(event.subject)}  received ${p(event.receivedAt)}\n\n`,
      );
      for (const { rule, error } of routingErrors ?? []) {
        process.stdout.write(
          rule === null
            ? `routing failed: ${p(error)}; marked routed with no deliveries\n`
            : `rule ${p(rule)} failed on this event, counted as not matching: ${p(error)}\n`,
        );
      }
      if (routingErrors?.length) process.stdout.write('\n');
      if (deliveries.length === 0) process.stdout.write('no deliveries\n');
      for (const { delivery: d, attempts } of deliveries) {
        process.stdout.write(
          `delivery ${p(d.id)}  rule ${p(d.rule)} -> ${p(d.destination)}  ${p(d.status)}  ${d.attempts} attempt(s)${d.lastError ? `  last error: ${p(d.lastError)}` : ''}\n`,
        );
        if (attempts.length > 0) {
          process.stdout.write(
            renderTable(
              ['  #', 'STARTED', 'MS', 'OUTCOME', 'STATUS', 'ERROR'],
              attempts.map((a) => [`  ${a.attempt}`, isoTime(a.startedAt), Math.round(a.durationMs), a.outcome, a.status, a.error]),
            ),
          );
        }
      }
    });
  return events;
}
