/** Shared by the commands: the --config option, and printing config errors for people. */
import type { Command } from 'commander';
import type { HeraldConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { loadConfig, loadStoreSetting, type LoadOptions } from '../config/load.js';
import { loadSetup, type HeraldSetup } from '../app/setup.js';

/** The --config file named on the command line. */
export function configFile(command: Command): string {
  return (command.optsWithGlobals() as { config: string }).config;
}

/** Runs `load`; on a ConfigError prints every problem and exits 1. */
function orExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** The config file alone (for commands that need no rules or templates). */
export function loadConfigOrExit(command: Command): HeraldConfig {
  return orExit(() => loadConfig(configFile(command)));
}

/** The config with its rules and templates. */
export function loadSetupOrExit(command: Command, options: LoadOptions = {}): HeraldSetup {
  return orExit(() => loadSetup(configFile(command), process.env, options));
}

/** The store setting alone (HERALD_STORE, else the config's `store`), for commands that need nothing else. */
export function loadStoreSettingOrExit(command: Command): string {
  return orExit(() => loadStoreSetting(configFile(command)));
}
