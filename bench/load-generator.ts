/**
 * The load generator as a process of its own (forked by the bench for each
 * measurement): it takes one job over IPC, runs it (load.ts), sends back the
 * result and exits. Progress of a paced run goes back once a second.
 */
import type { LoadJob, LoadProgress } from './common.js';
import { runLoadJob } from './load.js';

process.once('message', (job: LoadJob) => {
  runLoadJob(job, (progress) => process.send!({ progress } satisfies LoadProgress)).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      process.stderr.write(`load generator failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
});
