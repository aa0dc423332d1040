/**
 * The deliver thread's entry (deliver-thread.ts starts it): the deliver stage
 * on its own connection to the SQLite file, taking orders from the main
 * thread and sending it log lines, breaker transitions and metrics.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { censorSecrets } from '../../core/log.js';
import { DataKeyring } from '../../core/sealing.js';
import { SealedStore } from '../../store/sealed-store.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { DELIVER_THREAD, WriteGate } from '../../store/sqlite/write-gate.js';
import { DeliverStage } from './deliver.js';
import { destinationsOf, type DeliverWorkerData, type FromDeliverThread, type ToDeliverThread } from './deliver-thread.js';
import { HeraldMetrics } from '../mechanisms/metrics.js';
import { deadLetterRemovedDestinations } from '../upkeep/removed-destinations.js';

/**
 * Log lines are sent to the main thread once per turn of this thread's event
 * loop (a turn under load logs many attempts: one message for all), or when
 * they reach this many characters.
 */
const LOG_BATCH_CHARS = 16 * 1024;
/** The metrics the deliver stage keeps; the main thread keeps the rest. */
const DELIVERY_METRICS = /^herald_(delivery|breaker)_/;

const data = workerData as DeliverWorkerData;
const port = parentPort!;
const post = (message: FromDeliverThread) => port.postMessage(message);

/** A Buffer again: what crosses to a thread arrives as a plain Uint8Array. */
function toBuffer(bytes: Uint8Array | null): Buffer | null {
  return bytes && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

let lines = '';
let logFlush: NodeJS.Immediate | undefined;
function flushLogs(): void {
  clearImmediate(logFlush);
  logFlush = undefined;
  if (lines === '') return;
  post({ type: 'logs', lines });
  lines = '';
}
// The main thread writes them to its own destination (one stdout), each batch as it arrives.
const log = pino(
  { level: data.log.level, base: data.log.bindings, formatters: { log: censorSecrets } },
  {
    write(line: string) {
      lines += line;
      if (lines.length >= LOG_BATCH_CHARS) flushLogs();
      else logFlush ??= setImmediate(flushLogs);
    },
  },
);

const connection = new SqliteStore(data.file, { create: false, gate: new WriteGate(data.gate, DELIVER_THREAD) });
connection.checkpointElsewhere();
// Sealed as on the main thread: messages opened when claimed, response excerpts sealed when recorded.
const store = new SealedStore(
  connection,
  new DataKeyring(
    toBuffer(data.keys.current),
    data.keys.old.map((key) => toBuffer(key)!),
  ),
);
const metrics = new HeraldMetrics(undefined, { processMetrics: false });
let destinations = destinationsOf(data.config, store);
const deliver = new DeliverStage({
  store,
  destinations: () => destinations,
  log,
  claimant: data.claimant,
  metrics,
  progressBuffer: data.progress,
  onBreakerOpened: (destination, opening) => post({ type: 'breaker-opened', destination, opening }),
  onBreakerState: (destination, state) => post({ type: 'breaker', destination, state }),
});
for (const destination of data.paused) deliver.pause(destination);

port.on('message', (message: ToDeliverThread) => {
  switch (message.type) {
    case 'start':
      deliver.start();
      break;
    case 'wake':
      deliver.wake();
      break;
    case 'pause':
      deliver.pause(message.destination);
      break;
    case 'resume':
      deliver.resume(message.destination);
      break;
    case 'reload': {
      const previous = destinations;
      destinations = destinationsOf(message.config, store);
      // This connection holds the claims: deliveries in flight to a removed destination finish first.
      void deadLetterRemovedDestinations(store, message.configured, log).catch((error: unknown) =>
        log.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'could not dead-letter the deliveries to removed destinations; retention will try again',
        ),
      );
      // Attempts in flight keep their channel; closing waits for them.
      void Promise.allSettled(Object.values(previous.channels).map((channel) => channel.close()));
      deliver.wake();
      break;
    }
    case 'metrics':
      void metrics.registry.getMetricsAsJSON().then((all) => {
        post({ type: 'metrics', id: message.id, metrics: all.filter((metric) => DELIVERY_METRICS.test(metric.name)) });
      });
      break;
    case 'stop':
      void stop();
      break;
    default:
  }
});

async function stop(): Promise<void> {
  // Attempts in flight finish and are recorded; unclaimed work stays queued.
  await deliver.stop();
  await Promise.allSettled(Object.values(destinations.channels).map((channel) => channel.close()));
  await store.close();
  flushLogs();
  post({ type: 'stopped' });
  port.close();
}

// The main thread answers with 'start' after what it sent before it knew the thread was up (a pause, say).
post({ type: 'ready' });
