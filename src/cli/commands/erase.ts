/**
 * `herald erase --subject <id> [--dry-run]`: deletes every event about one
 * subject, with its deliveries, attempts, dedupe keys, enrichment and
 * archived media, and
 * prints what it removed (README, "Erasure"): on the store, or with --api
 * through a running herald. The erasure is written to the audit log in the
 * name of the user; a dry run only counts.
 */
import { Command } from 'commander';
import type { Erasure } from '../../pipeline/operator/erase-subject.js';
import { apiOption, printJson, withOpsBackend } from '../ops/ops-command.js';
import { printable, renderTable } from '../table.js';

export function eraseCommand(): Command {
  return new Command('erase')
    .description(
      'delete everything stored about one subject (a data-protection request): its events, deliveries, attempts, dedupe keys, enrichment and archived media; audited (on the store, or with --api through a running herald)',
    )
    .requiredOption('--subject <id>', "the subject's id, as events show it (FaceSign: the session id)")
    .option('--dry-run', 'count what would be removed; delete nothing')
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (options: { subject: string; dryRun?: boolean; json?: boolean }, command: Command) => {
      if (options.subject === '') command.error('give a subject id: --subject "" is not one');
      const erasure = await withOpsBackend(command, (ops) => ops.eraseSubject(options.subject, options.dryRun === true));
      if (options.json) return printJson(erasure);
      printErasure(erasure);
    });
}

function printErasure({ subject, dryRun, removed }: Erasure): void {
  const total = removed.events + removed.deliveries + removed.attempts + removed.dedupeKeys + removed.media;
  const who = `subject ${printable(subject)}`;
  if (total === 0) {
    process.stdout.write(`nothing is stored about ${who}\n`);
    return;
  }
  process.stdout.write(`${dryRun ? `would remove (dry run: nothing deleted) for ${who}` : `removed for ${who}`}:\n`);
  process.stdout.write(
    renderTable(
      ['KIND', 'COUNT'],
      [
        ['events', removed.events],
        ['deliveries', removed.deliveries],
        ['attempts', removed.attempts],
        ['dedupe keys', removed.dedupeKeys],
        ['media files', removed.media],
      ],
    ),
  );
}
