/**
 * `herald keys generate [--ed25519]`: a new Standard Webhooks signing key for
 * a webhook destination's `secrets` (README, "Signing keys and rotation").
 * Needs no config: it only prints.
 */
import { Command } from 'commander';
import { generateEd25519KeyPair, generateHmacSecret } from '../../core/signing-keys.js';
import { printJson } from '../ops/ops-command.js';

export function keysCommand(): Command {
  const keys = new Command('keys').description('make Standard Webhooks signing keys for webhook destinations');
  keys
    .command('generate')
    .description(
      'print a new HMAC secret (whsec_), or with --ed25519 an Ed25519 key pair: the secret key (whsk_) for herald, the public key (whpk_) for the receiver',
    )
    .option('--ed25519', 'an Ed25519 key pair (signatures v1a) instead of an HMAC secret (v1)')
    .option('--json', 'print JSON for scripts')
    .action((options: { ed25519?: boolean; json?: boolean }) => {
      if (!options.ed25519) {
        const secret = generateHmacSecret();
        if (options.json) return printJson({ secret });
        process.stdout.write(`${secret}\n`);
        return;
      }
      const pair = generateEd25519KeyPair();
      if (options.json) return printJson(pair);
      process.stdout.write(
        `secret key, for herald (list it in the destination's secrets; keep it secret):\n${pair.secretKey}\n` +
          `public key, for the receiver (verifies v1a signatures; not a secret):\n${pair.publicKey}\n`,
      );
    });
  return keys;
}
