/** `herald check`: validates the config (and, later, rules and templates); exits 1 on any error. */
import { Command } from 'commander';
import { loadConfigOrExit } from '../config-option.js';

export function checkCommand(): Command {
  return new Command('check')
    .description('check the config file; print every error with its file and path')
    .action((_options, command: Command) => {
      const config = loadConfigOrExit(command);
      const sources = Object.keys(config.sources).length;
      const destinations = Object.keys(config.destinations).length;
      process.stdout.write(`${config.file}: OK (${sources} sources, ${destinations} destinations)\n`);
    });
}
