#!/usr/bin/env -S node --max-semi-space-size=8
/** The `herald` command. Every command takes --config (default ./herald.config.yaml). */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.js';
import { exitWith } from './exit.js';

/**
 * The commands, in the order help lists them. Each is loaded when it runs,
 * with the libraries it needs: `herald serve` does not load the store copier
 * or the console's user commands, `herald check` no HTTP server. Help, and a
 * mistyped command (whose error suggests the closest name), load them all.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands/serve.js')).serveCommand(),
  check: async () => (await import('./commands/check.js')).checkCommand(),
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand(),
  send: async () => (await import('./commands/send.js')).sendCommand(),
  rules: async () => (await import('./commands/rules-test.js')).rulesCommand(),
  store: async () => (await import('./commands/store.js')).storeCommand(),
  events: async () => (await import('./commands/events.js')).eventsCommand(),
  dlq: async () => (await import('./commands/dlq.js')).dlqCommand(),
  replay: async () => (await import('./commands/replay.js')).replayCommand(),
  destinations: async () => (await import('./commands/destinations.js')).destinationsCommand(),
  keys: async () => (await import('./commands/keys.js')).keysCommand(),
  erase: async () => (await import('./commands/erase.js')).eraseCommand(),
  console: async () => (await import('./commands/console.js')).consoleCommand(),
};

const program = new Command('herald')
  .description('Self-hosted router for identity-verification webhooks')
  .version(packageVersion(), '-V, --version', "print herald's version")
  .option('-c, --config <file>', 'config file', './herald.config.yaml')
  .showHelpAfterError();

try {
  const named = commandName(process.argv.slice(2));
  const loaders = named !== undefined && Object.hasOwn(COMMANDS, named) ? [COMMANDS[named]!] : Object.values(COMMANDS);
  for (const command of await Promise.all(loaders.map((load) => load()))) program.addCommand(command);
  await program.parseAsync();
} catch (error) {
  exitWith(error);
}

/** The command the arguments name: the first one that is neither an option of herald's nor the value of one. */
function commandName(args: string[]): string | undefined {
  const globals = new Command().option('-c, --config <file>').helpOption(false).allowUnknownOption();
  return globals.parseOptions(args).operands[0];
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
