/**
 * The benchmark's own correctness: `npm run bench -- --quick` (tiny counts,
 * about 20 seconds) runs every scenario end to end, so that the bench
 * cannot rot between full runs. It checks what the bench measured is real
 * (every acknowledged event reached the sink, signatures verified, one
 * delivery per routed event), never the speed targets: timing belongs to the
 * full run's report, not to a unit test on a shared machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import type { Runs, Verdict } from '../../bench/report.js';

interface Results {
  runs: Runs;
  verdicts: Verdict[];
}

describe('npm run bench -- --quick', function () {
  this.timeout(240_000);
  let out: string;
  let results: Results;
  let report: string;

  before(async () => {
    out = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-test-'));
    const child = spawn(process.execPath, [path.join(PACKAGE_ROOT, 'dist/bench/run.js'), '--quick', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.resume();
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0, `the bench failed:\n${stderr}`);
    results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as Results;
    report = readFileSync(path.join(out, 'results.md'), 'utf8');
  });

  after(() => rmSync(out, { recursive: true, force: true }));

  it('measures the baseline and every scenario at least once', () => {
    for (const [name, runs] of Object.entries(results.runs)) assert.ok(runs.length >= 1, `no run of ${name}`);
    assert.ok(results.runs.baseline.every((r) => r.rps > 0 && r.failed === 0));
  });

  it('ingests without a single non-2xx', () => {
    for (const run of [...results.runs.ingest, ...results.runs.scaleSmall, ...results.runs.scaleLarge]) {
      assert.equal(run.failed, 0);
      assert.ok(run.rps > 0);
    }
  });

  it('delivers every event acknowledged in the closed end-to-end loop', () => {
    for (const run of results.runs.endToEnd!) {
      assert.ok(run.ok > 0);
      assert.equal(run.failed, 0);
      assert.equal(run.missing, 0);
      assert.ok(run.cpuUsPerEvent > 0 && run.loadCpuUsPerEvent > 0);
    }
  });

  it('delivers every acknowledged event of the paced runs to the sink, correctly signed', () => {
    for (const run of results.runs.sustained) {
      assert.ok(run.ok > 0);
      assert.equal(run.failed, 0);
      assert.equal(run.delivered, run.ok);
      assert.equal(run.missing, 0);
      assert.equal(run.badSignatures, 0);
    }
    for (const run of results.runs.latency) {
      assert.equal(run.delivered, run.sent);
      assert.ok(run.p50 > 0 && run.p50 <= run.p99 && run.p99 <= run.max);
    }
  });

  it('drains the seeded backlogs', () => {
    for (const run of [...results.runs.backlog, ...results.runs.bigBacklog]) {
      assert.ok(run.delivered >= run.count, `${run.delivered} of ${run.count} delivered`);
      assert.ok(run.rate > 0 && run.peakMb > 0);
    }
  });

  it('routes each event to exactly one delivery, with few rules and with many', () => {
    for (const run of [...results.runs.scaleSmall, ...results.runs.scaleLarge]) {
      assert.ok(run.events >= run.ok);
      assert.equal(run.deliveries, run.events);
    }
    assert.deepEqual(
      results.runs.scaleLarge.map((r) => r.ruleCount),
      [200],
    );
  });

  it('reports a verdict on every target, and the machine it ran on', () => {
    assert.equal(results.verdicts.length, 12);
    for (const verdict of results.verdicts)
      assert.match(report, new RegExp(`\\| ${verdict.scenario} \\| ${verdict.measured.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\|`));
    assert.match(report, /^Machine: \d+ cores/m);
  });

  it("measures the load generator's CPU, on which the rate the cores allow rests", () => {
    for (const run of results.runs.baseline) assert.ok(run.loadCpuUsPerRequest > 0);
    for (const run of [...results.runs.ingest, ...results.runs.endToEnd!, ...results.runs.sustained]) assert.ok(run.loadCpuUsPerEvent > 0);
    const allowed = report.match(/\| events\/s the cores allow at that cost \| ([\d,]+) \| ([\d.]+)x \|/g) ?? [];
    assert.equal(allowed.length, 3, 'one line for ingest, one for each end-to-end run');
  });
});
