/**
 * How far V8 lets herald's heap grow past what is live before it collects.
 *
 * By default V8 may grow the old generation up to four times the live set
 * between full collections when collecting is cheap, which it is for herald:
 * about 30 MB live while draining a backlog, and peaks of 220 to 230 MB of
 * resident memory, most of it garbage waiting for a collection that V8 chose
 * to put off (and in other runs of the same load, 160 MB: the choice varies).
 * Twice the live set keeps the peak near 160 MB at no measured cost in
 * throughput (bench/RESULTS.md). V8 reads the flag at every collection, so it
 * takes effect when set at start-up; a `--heap-growing-percent` given to node
 * (on its command line or in NODE_OPTIONS) is left as it is.
 */
import v8 from 'node:v8';

/**
 * The node flags herald's launchers give the serving process (the bin's
 * shebang, `npm start`, docs/herald.service, the benchmark): V8 lets each
 * thread's young generation grow to 16 MB semi-spaces, 34 MB of new space per
 * thread at the benchmark's rates, and with the deliver thread that was a
 * third of herald's resident memory. 8 MB halves it at no cost the benchmark
 * could tell from its noise (bench/RESULTS.md). A flag V8 reads when the
 * thread starts, so only node's command line can set it for the main thread;
 * the threads herald starts set theirs (DELIVER_YOUNG_GENERATION_MB).
 */
export const SERVE_NODE_FLAGS = ['--max-semi-space-size=8'] as const;
/** The deliver thread's young generation: two semi-spaces and a large-object space of 8 MB each (Worker resourceLimits). */
export const DELIVER_YOUNG_GENERATION_MB = 24;

const HEAP_GROWING_PERCENT = 100;

/** Sets V8's heap growing factor unless node was given one; returns whether it did. */
export function limitHeapGrowth(nodeFlags: readonly string[] = [...process.execArgv, process.env.NODE_OPTIONS ?? '']): boolean {
  if (nodeFlags.some((flag) => /--heap[-_]growing[-_]percent/.test(flag))) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
