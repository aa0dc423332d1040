/**
 * `herald send <source> <payload.json | --sample TYPE>`: signs a payload exactly
 * as the source's provider would, with the source's first secret from the config,
 * and posts it to a running herald. For trying a config end to end.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { PROVIDERS } from '../../providers/registry.js';
import { loadSample } from '../../providers/samples.js';
import { loadConfigOrExit } from '../config-option.js';

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
      const body = payloadFile
        ? readFileSync(payloadFile)
        : Buffer.from(JSON.stringify(provider.freshenSample(loadSample(source.provider, options.sample!), now)));
      const url = options.url ?? `http://127.0.0.1:${config.server.port}/webhooks/${sourceName}`;

      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...provider.sign(body, source, now) },
        body,
      });
      process.stdout.write(`${response.status} ${response.statusText} ${await response.text()}\n`);
      if (!response.ok) process.exitCode = 1;
    });
}
