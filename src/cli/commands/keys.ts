/**
 * `herald keys generate [--ed25519 | --data-key]`: a new Standard Webhooks
 * signing key for a webhook destination's `secrets` (README, "Signing keys
 * and rotation"), or a data key for HERALD_DATA_KEY (README, "Encryption at
 * rest"); needs no config: it only prints. `herald keys rotate`: seals every
 * stored value anew under the current data key.
 */
import type * as CliProgress from 'cli-progress';
import type { SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { lazyLibrary } from '../../core/lazy-library.js';
import { DataKeyring, generateDataKey } from '../../core/sealing.js';
import { generateEd25519KeyPair, generateHmacSecret } from '../../core/signing-keys.js';
import { rotateDataKey, type RotationReport } from '../../pipeline/operator/rotate-data-key.js';
import { openMediaFiles } from '../../app/open-store.js';
import { loadMediaSettingOrExit, loadStoreSettingOrExit } from '../config-option.js';
import { openExistingStore } from '../open-store.js';
import { parseLimit, printJson } from '../ops/ops-command.js';

/** Loaded when a progress bar is shown. */
const cliProgress = lazyLibrary<typeof CliProgress>('cli-progress');

export function keysCommand(): Command {
  const keys = new Command('keys').description(
    'make signing keys for webhook destinations and data keys for encryption at rest; re-seal stored data under a new data key',
  );
  keys
    .command('generate')
    .description(
      'print a new HMAC secret (whsec_), or with --ed25519 an Ed25519 key pair: the secret key (whsk_) for herald, the public key (whpk_) for the receiver; or with --data-key a key for HERALD_DATA_KEY',
    )
    .addOption(new Option('--ed25519', 'an Ed25519 key pair (signatures v1a) instead of an HMAC secret (v1)').conflicts('dataKey'))
    .option('--data-key', 'a data key (32 random bytes, base64) for HERALD_DATA_KEY: encryption at rest')
    .option('--json', 'print JSON for scripts')
    .action((options: { ed25519?: boolean; dataKey?: boolean; json?: boolean }) => {
      if (options.dataKey) {
        const dataKey = generateDataKey();
        if (options.json) return printJson({ dataKey });
        process.stdout.write(`${dataKey}\n`);
        return;
      }
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
  keys
    .command('rotate')
    .description(
      'seal every stored payload, message, excerpt and archived media file anew under the current data key (HERALD_DATA_KEY), opening old ones with HERALD_DATA_KEYS_OLD; herald may keep serving',
    )
    .addOption(new Option('--batch-size <n>', 'events per batch, 1 to 1000').default(200).argParser(parseLimit))
    .option('--json', 'print JSON for scripts')
    .option('--progress', 'show the progress bar even when stderr is not a terminal')
    .action(async (options: { batchSize: number; json?: boolean; progress?: boolean }, command: Command) => {
      const dataKeys = DataKeyring.fromEnv(process.env);
      const media = loadMediaSettingOrExit(command);
      const store = await openExistingStore(loadStoreSettingOrExit(command), { unsealed: true });
      let bar: SingleBar | undefined;
      let report: RotationReport;
      try {
        report = await rotateDataKey(store, dataKeys, {
          batchSize: options.batchSize,
          mediaFiles: media && openMediaFiles(media, store),
          onProgress: ({ events, total, resealed }) => {
            if (!bar && (process.stderr.isTTY || options.progress)) bar = startProgress(total);
            bar?.setTotal(total);
            bar?.update(events, { resealed });
          },
        });
      } finally {
        bar?.stop();
        await store.close();
      }
      if (options.json) return printJson(report);
      const { events, messages, excerpts, media: files } = report.resealed;
      process.stdout.write(
        `${report.events} events looked at; sealed anew under data key ${report.keyId}: ${events} events, ${messages} messages, ${excerpts} response excerpts, ${files} media files\n`,
      );
      if (report.changedMeanwhile > 0) {
        process.stdout.write(
          `${report.changedMeanwhile} values were changed by a serving herald meanwhile and left as it wrote them: run herald keys rotate again to check them\n`,
        );
      }
    });
  return keys;
}

/** The progress bar on stderr (drawn every 250 ms when stderr is not a terminal, for --progress in logs). */
function startProgress(total: number): SingleBar {
  const bar = new (cliProgress().SingleBar)({
    stream: process.stderr,
    format: 'sealing [{bar}] {percentage}% | {value}/{total} events | {resealed} values sealed anew',
    noTTYOutput: !process.stderr.isTTY,
    notTTYSchedule: 250,
    hideCursor: true,
  });
  bar.start(total, 0, { resealed: 0 });
  return bar;
}
