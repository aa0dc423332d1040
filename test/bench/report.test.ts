/** The bench report when only some scenarios ran (`--only`): no verdict on what did not run. */
import assert from 'node:assert/strict';
import { markdownReport, verdicts, type Runs } from '../../bench/report.js';

describe('bench report', () => {
  it('says "not run" for the targets of scenarios that did not run, and prints no made-up figure', () => {
    const runs: Runs = {
      baseline: [{ rps: 10_000, p99: 5, cpuUsPerRequest: 50, loadCpuUsPerRequest: 30 }],
      ingest: [],
      sustained: [],
      latency: [],
      scaleSmall: [],
      scaleLarge: [],
      bigBacklog: [],
      backlog: [{ rate: 6000, cpuUsPerDelivery: 150, peakMb: 170 }],
    } as unknown as Runs;
    const checked = verdicts(runs, 5000);
    const byScenario = (scenario: string) => checked.filter((v) => v.scenario === scenario).map((v) => v.met);
    assert.deepEqual(byScenario('1 ingest only'), [undefined, undefined, undefined]);
    assert.deepEqual(byScenario('4 backlog drain'), [true]);
    assert.deepEqual(byScenario('6 memory'), [true, undefined], 'the peak of the backlog runs counts; the big backlog did not run');
    const report = markdownReport(runs, { cpus: 2, model: 'test', memoryGb: 1, node: '20', loadBefore: 0, otherCores: 0 }, checked, {
      command: 'npm run bench -- --only 4',
      plan: '1 run each',
      startedAt: 'now',
      minutes: 1,
      backlog: 100,
      bigBacklog: 1000,
      rules: [10, 100],
    });
    assert.match(report, /\| 1 ingest only \| n\/a baseline \| >= 0\.5x \| not run \|/);
    assert.doesNotMatch(report, /Infinity|∞|n\/ax/);
  });
});
