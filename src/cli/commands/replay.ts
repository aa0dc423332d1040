/**
 * `herald replay --since <time> [--rule <name>]... [--dry-run] [--refresh-session]`:
 * routes the events received since then through the current rules again,
 * adding new deliveries next to the old ones (and the events of rules that
 * batch to their batches' next messages), a page of 500 events at a time:
 * on the store (a running herald sends them within its poll interval, a
 * second), or with --api through a running herald, which replays with the
 * rules it has in force and sends at once. A dry run counts what would be
 * sent and stores nothing. With --refresh-session FaceSign is asked for each
 * enriched event's session again (pipeline/operator/session-refresh.ts), in
 * smaller pages, as the source's API rate paces the calls. Progress goes to
 * stderr when it is a terminal (or with --progress), so stdout stays clean
 * for --json.
 */
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { lazyLibrary } from '../../core/lazy-library.js';
import type { SessionRefreshFailure } from '../../pipeline/operator/replay.js';
import { addReplayPage, emptyReplayTotals } from '../../pipeline/operator/replay-totals.js';
import { apiOption, parseSince, printJson, withOpsBackend } from '../ops/ops-command.js';
import { renderTable } from '../table.js';

/** Loaded when a progress bar is shown. */
const cliProgress = lazyLibrary<typeof CliProgress>('cli-progress');

/** Events replayed per page: one store read and one write each (and one API request through --api). */
const BATCH = 500;
/**
 * With --refresh-session: each page may make a call per event, paced by the
 * source's `api.rate` (10/s by default), and one page is one API request
 * through --api, which must answer within its time-out.
 */
const REFRESHING_BATCH = 100;

interface ReplayCommandOptions {
  since: string;
  until?: string;
  rule: string[];
  dryRun?: boolean;
  refreshSession?: boolean;
  json?: boolean;
  progress?: boolean;
}

export function replayCommand(): Command {
  return new Command('replay')
    .description(
      'route stored events again through the current rules: new deliveries, the old ones kept (on the store, or with --api through a running herald)',
    )
    .requiredOption('--since <time>', 'events received at or after: RFC 3339, or a duration back from now (24h, 7d)')
    .option('--until <time>', 'events received before: RFC 3339, or a duration back from now')
    .option('--rule <name>', "only this rule's notifications; repeat it for several rules", (name: string, names: string[]) => [...names, name], [] as string[])
    .option('--dry-run', 'count what would be sent; store nothing')
    .option(
      '--refresh-session',
      "ask FaceSign for each enriched event's session again (once per session) and route with it; stored with the event (not on a dry run). Without it the stored session is used",
    )
    .option('--json', 'print JSON for scripts')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .addOption(apiOption())
    .action(async (options: ReplayCommandOptions, command: Command) => {
      const request = {
        since: parseSince(options.since, command),
        until: options.until === undefined ? undefined : parseSince(options.until, command, '--until'),
        ...(options.rule.length > 0 && { rules: options.rule }),
        dryRun: options.dryRun === true,
        ...(options.refreshSession && { refreshSession: true }),
        limit: options.refreshSession ? REFRESHING_BATCH : BATCH,
      };
      const totals = emptyReplayTotals(options.refreshSession === true);
      await withOpsBackend(command, async (ops) => {
        let bar: SingleBar | undefined;
        let after: string | undefined;
        try {
          do {
            const page = await ops.replayPage({ ...request, after });
            // The first page carries the total.
            if (page.total !== undefined && (process.stderr.isTTY || options.progress)) bar = startProgress(page.total, request.dryRun);
            addReplayPage(totals, page);
            bar?.update(totals.events, { deliveries: totals.deliveries });
            after = page.nextCursor ?? undefined;
          } while (after !== undefined);
        } finally {
          bar?.stop();
        }
      });
      if (options.json) return printJson({ dryRun: request.dryRun, ...totals });
      const { dryRun } = request;
      const { events, deliveries, byRule, batched, batchedByRule, notRouted, sessions } = totals;
      // Events of rules that batch go out with their batch's next message, not as deliveries of their own.
      const toBatches = batched > 0 ? `, ${batched} ${dryRun ? 'would be added' : 'added'} to batches (sent with their next message)` : '';
      // Routing sends them with the rules in force; replayed too, they would go out twice.
      const leftToRouting = notRouted > 0 ? `; ${notRouted} not routed yet, left to routing` : '';
      process.stdout.write(
        `${events} events ${dryRun ? 'checked' : 'replayed'}: ${deliveries} ${deliveries === 1 ? 'delivery' : 'deliveries'} ${dryRun ? 'would be created' : 'created'}${toBatches}${leftToRouting}${dryRun ? ' (dry run: nothing stored)' : ''}\n`,
      );
      const rules = [...new Set([...Object.keys(byRule), ...Object.keys(batchedByRule)])].sort();
      if (rules.length > 0)
        process.stdout.write(
          batched > 0
            ? renderTable(
                ['RULE', 'DELIVERIES', 'BATCHED'],
                rules.map((rule) => [rule, byRule[rule] ?? 0, batchedByRule[rule] ?? 0]),
              )
            : renderTable(
                ['RULE', 'DELIVERIES'],
                rules.map((rule) => [rule, byRule[rule] ?? 0]),
              ),
        );
      if (sessions) printSessions(sessions);
    });
}

/** The progress bar on stderr (drawn every 250 ms when stderr is not a terminal, for --progress in logs). */
function startProgress(total: number, dryRun: boolean): SingleBar {
  const bar = new (cliProgress().SingleBar)({
    stream: process.stderr,
    format: `${dryRun ? 'planning' : 'replaying'} [{bar}] {percentage}% | {value}/{total} events | {deliveries} deliveries`,
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 250,
    hideCursor: true,
  });
  bar.start(total, 0, { deliveries: 0 });
  return bar;
}

/** What --refresh-session came to: the sessions fetched again, and those that could not be. */
function printSessions({ refreshed, failed }: { refreshed: number; failed: SessionRefreshFailure[] }): void {
  process.stdout.write(`${refreshed} ${refreshed === 1 ? 'session' : 'sessions'} fetched again from FaceSign\n`);
  if (failed.length === 0) return;
  process.stdout.write(`${failed.length} could not be; their events were replayed with the session stored:\n`);
  process.stdout.write(
    renderTable(
      ['SOURCE', 'SESSION', 'EVENTS', 'ERROR'],
      failed.map((f) => [f.source, f.sessionId ?? '-', f.eventIds.length, f.error]),
    ),
  );
}
