#!/usr/bin/env node
/** The `herald` command. Every command takes --config (default ./herald.config.yaml). */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../core/paths.js';
import { exitWith } from './exit.js';
import { checkCommand } from './commands/check.js';
import { consoleCommand } from './commands/console.js';
import { destinationsCommand } from './commands/destinations.js';
import { dlqCommand } from './commands/dlq.js';
import { eraseCommand } from './commands/erase.js';
import { eventsCommand } from './commands/events.js';
import { keysCommand } from './commands/keys.js';
import { migrateCommand } from './commands/migrate.js';
import { replayCommand } from './commands/replay.js';
import { rulesCommand } from './commands/rules-test.js';
import { sendCommand } from './commands/send.js';
import { serveCommand } from './commands/serve.js';
import { storeCommand } from './commands/store.js';

const program = new Command('herald')
  .description('Self-hosted router for identity-verification webhooks')
  .version(packageVersion(), '-V, --version', "print herald's version")
  .option('-c, --config <file>', 'config file', './herald.config.yaml')
  .showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(checkCommand());
program.addCommand(migrateCommand());
program.addCommand(sendCommand());
program.addCommand(rulesCommand());
program.addCommand(storeCommand());
program.addCommand(eventsCommand());
program.addCommand(dlqCommand());
program.addCommand(replayCommand());
program.addCommand(destinationsCommand());
program.addCommand(keysCommand());
program.addCommand(eraseCommand());
program.addCommand(consoleCommand());

await program.parseAsync().catch(exitWith);

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
