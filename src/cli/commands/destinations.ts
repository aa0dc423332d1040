/**
 * `herald destinations show <name>`: how a destination signs, with the public
 * key(s) to give its receiver; from the config, or with --api as a running
 * herald has it. `herald destinations pause|resume <name>`: stop and restart
 * sending to a destination. A pause lives in the memory of the serving
 * process, not in the store, so these work only through a running herald's
 * API (--api).
 */
import { Command } from 'commander';
import { destinationView, type DestinationView } from '../../channels/destination-view.js';
import { SigningKeyError } from '../../core/signing-keys.js';
import { ApiBackend } from '../ops/api-backend.js';
import { OpsError } from '../ops/backend.js';
import { apiOption, printJson, withOpsBackend } from '../ops/ops-command.js';
import { loadConfigOrExit } from '../config-option.js';
import { printable, printableLines } from '../table.js';

export function destinationsCommand(): Command {
  const destinations = new Command('destinations').description(
    'show how a destination signs (its public keys); pause and resume sending to it (only through a running herald: --api)',
  );
  destinations
    .command('show')
    .description("a destination's type and signing keys, with the public key (whpk_) of each Ed25519 key to give the receiver; never a secret")
    .argument('<name>', 'destination name in the config')
    .option('--json', 'print JSON for scripts')
    .addOption(apiOption())
    .action(async (name: string, options: { json?: boolean; api?: string }, command: Command) => {
      const view = options.api ? await viewThroughApi(command, options.api, name) : viewFromConfig(command, name);
      if (options.json) return printJson(view);
      process.stdout.write(printableLines(forPeople(view)));
    });
  for (const action of ['pause', 'resume'] as const) {
    destinations
      .command(action)
      .description(
        action === 'pause'
          ? 'stop sending to a destination: its deliveries wait, spending no attempts, until it is resumed or herald restarts'
          : 'send to a paused destination again',
      )
      .argument('<name>', 'destination name in the config')
      .option('--json', 'print JSON for scripts')
      .addOption(apiOption())
      .action(async (name: string, options: { json?: boolean }, command: Command) => {
        const state = await withOpsBackend(command, (ops) => ops.setPaused(name, action === 'pause'));
        if (options.json) return printJson(state);
        const paused = state.pausedDestinations.length > 0 ? state.pausedDestinations.map(printable).join(', ') : 'none';
        process.stdout.write(`${printable(state.destination)} ${state.paused ? 'paused' : 'sending'}; paused destinations now: ${paused}\n`);
      });
  }
  return destinations;
}

/** The destination as the running herald at --api has it. */
async function viewThroughApi(command: Command, api: string, name: string): Promise<DestinationView> {
  try {
    const herald = new ApiBackend(api, process.env.HERALD_ADMIN_TOKEN);
    const view = await herald.destination(name);
    if (!view) throw new OpsError(`no destination "${name}" in the config of the herald ${herald.where}`);
    return view;
  } catch (error) {
    if (error instanceof OpsError) command.error(error.message);
    throw error;
  }
}

/** The destination as the config file (--config) describes it; needs no store and no running herald. */
function viewFromConfig(command: Command, name: string): DestinationView {
  const config = loadConfigOrExit(command);
  if (!Object.hasOwn(config.destinations, name)) {
    const known = Object.keys(config.destinations).join(', ') || 'none';
    command.error(`no destination "${name}" in ${config.file} (destinations: ${known})`);
  }
  try {
    return destinationView(config.destinations[name]!);
  } catch (error) {
    // The config checks refuse malformed keys; this is for a config that skipped them.
    if (error instanceof SigningKeyError) command.error(`destination "${name}": a signing key ${error.message}`);
    throw error;
  }
}

/** For people: one line per key, in the order of the signatures in webhook-signature. */
function forPeople(view: DestinationView): string {
  if (view.type !== 'webhook') return `${view.name}: ${view.type} destination (not signed)\n`;
  const lines = view.signingKeys.map((key, index) =>
    key.scheme === 'v1'
      ? `  ${index + 1}. v1   HMAC-SHA256  shared secret (whsec_), not shown: the receiver holds the same secret`
      : `  ${index + 1}. v1a  Ed25519      ${key.publicKey}`,
  );
  return `${view.name}: webhook destination, ${view.signingKeys.length} signing key${view.signingKeys.length === 1 ? '' : 's'} (one signature each per request):\n${lines.join('\n')}\n`;
}
