/**
 * `herald destinations pause|resume <name>`: stop and restart sending to a
 * destination. A pause lives in the memory of the serving process, not in the
 * store, so these work only through a running herald's API (--api).
 */
import { Command } from 'commander';
import { apiOption, printJson, withOpsBackend } from '../ops/ops-command.js';

export function destinationsCommand(): Command {
  const destinations = new Command('destinations').description('pause and resume sending to a destination (through a running herald: --api)');
  for (const action of ['pause', 'resume'] as const) {
    destinations
      .command(action)
      .description(action === 'pause'
        ? 'stop sending to a destination: its deliveries wait, spending no attempts, until it is resumed or herald restarts'
        : 'send to a paused destination again')
      .argument('<name>', 'destination name in the config')
      .option('--json', 'print JSON for scripts')
      .addOption(apiOption())
      .action(async (name: string, options: { json?: boolean }, command: Command) => {
        const state = await withOpsBackend(command, (ops) => ops.setPaused(name, action === 'pause'));
        if (options.json) return printJson(state);
        const paused = state.pausedDestinations.length > 0 ? state.pausedDestinations.join(', ') : 'none';
        process.stdout.write(`${state.destination} ${state.paused ? 'paused' : 'sending'}; paused destinations now: ${paused}\n`);
      });
  }
  return destinations;
}
