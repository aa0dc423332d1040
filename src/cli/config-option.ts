/** Shared by the commands: the --config option and printing config errors for people. */
import type { Command } from 'commander';
import type { HeraldConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { loadConfig } from '../config/load.js';

/** Loads the config named by the global --config option; on errors prints them all and exits 1. */
export function loadConfigOrExit(command: Command): HeraldConfig {
  const file = (command.optsWithGlobals() as { config: string }).config;
  try {
    return loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
