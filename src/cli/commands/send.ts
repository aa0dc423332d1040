/**
 * `herald send <source> <payload.json | --sample TYPE>`: signs a payload exactly
 * as the source's provider would, with the source's first secret from the config,
 * and posts it to a running herald. For trying a config end to end.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { PROVIDERS } from '../../providers/registry.js';
import type { EventProviderId } from '../../core/event.js';
import { loadSample, UnknownSampleError } from '../../providers/samples.js';
import { loadConfigOrExit } from '../config-option.js';
import { CliError, EXIT } from '../exit.js';
import { printable } from '../table.js';

interface SendOptions {
  sample?: string;
  url?: string;
}

export function sendCommand(): Command {
  return new Command('send')
    .description("sign a payload like the source's provider and post it to a running herald")
    .argument('<source>', 'a source name from the config')
    .argument('[payload]', 'a JSON file, sent byte for byte')
    .option('-s, --sample <type>', 'send the shipped sample of this event type, with a fresh id and time')
    .option('-u, --url <url>', 'where herald listens (default: http://127.0.0.1:<server.port>/webhooks/<source>)')
    .action(async (sourceName: string, payloadFile: string | undefined, options: SendOptions, command: Command) => {
      const config = loadConfigOrExit(command);
      const source = config.sources[sourceName];
      if (!source) command.error(`unknown source "${sourceName}"; the config has: ${Object.keys(config.sources).join(', ')}`);
      if (!payloadFile === !options.sample) command.error('give either a payload file or --sample TYPE');

      const provider = PROVIDERS[source.provider];
      const now = Date.now();
      const body = payloadFile ? readPayload(payloadFile) : Buffer.from(JSON.stringify(provider.freshenSample(sample(source.provider, options.sample!), now)));
      const url = options.url ?? `http://127.0.0.1:${config.server.port}/webhooks/${sourceName}`;

      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...provider.sign(body, source, now) },
        body,
      }).catch((error: unknown) => {
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        const code = (cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause));
        throw new CliError(`no herald answers at ${new URL(url).origin} (${code}): start it with herald serve, or give --url`, EXIT.network);
      });
      // Whatever answered may not be herald: its words are written out, never run by the terminal.
      process.stdout.write(`${response.status} ${printable(response.statusText)} ${printable(await response.text())}\n`);
      if (!response.ok) process.exitCode = 1;
    });
}

/** The payload file's bytes, sent as they are; it must hold JSON, or herald would only answer 400. */
function readPayload(file: string): Buffer<ArrayBuffer> {
  let body: Buffer<ArrayBuffer>;
  try {
    body = readFileSync(file);
  } catch (error) {
    throw new CliError(`cannot read the payload file ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, EXIT.input);
  }
  try {
    JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new CliError(`the payload file ${file} is not JSON (${error instanceof Error ? error.message : String(error)})`, EXIT.input);
  }
  return body;
}

function sample(provider: EventProviderId, type: string): Record<string, unknown> {
  try {
    return loadSample(provider, type);
  } catch (error) {
    if (error instanceof UnknownSampleError) throw new CliError(error.message, EXIT.input);
    throw error;
  }
}
