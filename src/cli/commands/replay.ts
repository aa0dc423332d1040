/**
 * `herald replay --since <time> [--rule <name>] [--dry-run]`: routes the
 * events received since then through the current rules again, adding new
 * deliveries next to the old ones, directly on the store; a running herald
 * sends them within its poll interval (a second). A dry run counts what would
 * be sent and stores nothing. Progress goes to stderr when it is a terminal
 * (or with --progress), so stdout stays clean for --json.
 */
import { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { replayEvents } from '../../pipeline/replay.js';
import { EVENT_PROVIDERS } from '../../providers/registry.js';
import type { EventFilter } from '../../store/store.js';
import { loadSetupOrExit } from '../config-option.js';
import { parseSince, printJson, withConfigStore } from '../store-access.js';
import { renderTable } from '../table.js';

/** Events read and replayed per store round trip (one write each). */
const BATCH = 500;

interface ReplayCommandOptions {
  since: string;
  until?: string;
  rule?: string;
  dryRun?: boolean;
  json?: boolean;
  progress?: boolean;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description('route stored events again through the current rules: new deliveries, the old ones kept (directly on the store)')
    .requiredOption('--since <time>', 'events received at or after: RFC 3339, or a duration back from now (24h, 7d)')
    .option('--until <time>', 'events received before: RFC 3339, or a duration back from now')
    .option('--rule <name>', "only this rule's notifications")
    .option('--dry-run', 'count what would be sent; store nothing')
    .option('--json', 'print JSON for scripts')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (options: ReplayCommandOptions, command: Command) => {
      const setup = loadSetupOrExit(command);
      const { routing } = setup;
      if (options.rule !== undefined && !routing.rules.rules.some((r) => r.name === options.rule)) {
        command.error(`no rule "${options.rule}" in the rule files (${routing.rules.rules.map((r) => r.name).join(', ')})`);
      }
      const filter: EventFilter = {
        since: parseSince(options.since, command),
        until: options.until === undefined ? undefined : parseSince(options.until, command, '--until'),
      };
      const byRule = new Map<string, number>();
      let events = 0;
      await withConfigStore(command, async (store) => {
        const total = await store.countEvents(filter);
        const bar = process.stderr.isTTY || options.progress
          ? new SingleBar({
            stream: process.stderr,
            format: `${options.dryRun ? 'planning' : 'replaying'} [{bar}] {percentage}% | {value}/{total} events | {deliveries} deliveries`,
            noTTYOutput: !process.stderr.isTTY,
            notTTYSchedule: 250,
            hideCursor: true,
          })
          : undefined;
        bar?.start(total, 0, { deliveries: 0 });
        let after: string | undefined;
        for (;;) {
          const batch = await store.listEvents({ ...filter, after, limit: BATCH });
          if (batch.length === 0) break;
          const replayed = await replayEvents(store, batch, routing, EVENT_PROVIDERS, { rule: options.rule, dryRun: options.dryRun });
          for (const d of replayed.flatMap((r) => r.deliveries)) byRule.set(d.rule, (byRule.get(d.rule) ?? 0) + 1);
          events += batch.length;
          after = batch.at(-1)!.id;
          bar?.update(events, { deliveries: [...byRule.values()].reduce((a, b) => a + b, 0) });
          if (batch.length < BATCH) break;
        }
        bar?.stop();
      });
      const deliveries = [...byRule.values()].reduce((a, b) => a + b, 0);
      if (options.json) return printJson({ dryRun: options.dryRun === true, events, deliveries, byRule: Object.fromEntries(byRule) });
      process.stdout.write(`${events} events ${options.dryRun ? 'checked' : 'replayed'}: ${deliveries} ${deliveries === 1 ? 'delivery' : 'deliveries'} ${options.dryRun ? 'would be created (dry run: nothing stored)' : 'created'}\n`);
      if (byRule.size > 0) process.stdout.write(renderTable(['RULE', 'DELIVERIES'], [...byRule].sort().map(([rule, n]) => [rule, n])));
    });
}
