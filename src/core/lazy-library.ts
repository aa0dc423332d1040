/**
 * A CommonJS library loaded at its first use instead of at start-up. Loading a
 * module costs CPU whether or not anything calls it: undici, the Slack
 * clients, nodemailer, pg and pino-pretty are a few hundred modules, about a
 * third of a second of every process start, and most processes use few or
 * none of them (herald check, the CLI's commands, a serve without Slack or
 * email destinations). Types come from an `import type` of the library.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** A function returning the library `name` (CommonJS), loaded at its first call. */
export function lazyLibrary<T>(name: string): () => T {
  let library: T | undefined;
  return () => {
    library ??= require(name) as T;
    return library;
  };
}
