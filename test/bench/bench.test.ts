/**
 * The benchmark cannot rot: a quick run of it (tiny counts, about a second per
 * scenario) must finish and produce results for every scenario. Its timing
 * targets are never asserted here (they belong to `npm run bench` on a quiet
 * machine); what every run must show regardless of speed is: every request was
 * acknowledged, every acknowledged event was delivered, correctly signed, and
 * routing fired the one rule for each event.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import type { Runs } from '../../bench/report.js';

const SCENARIOS: Array<keyof Runs> = ['baseline', 'ingest', 'sustained', 'latency', 'backlog', 'scaleSmall', 'scaleLarge', 'bigBacklog'];

describe('npm run bench -- --quick', function () {
  this.timeout(180_000);
  let out: string;
  let results: { runs: Runs; verdicts: Array<{ scenario: string; met: boolean }> };
  let report: string;

  before(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'herald-bench-test-'));
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [path.join(PACKAGE_ROOT, 'dist/bench/run.js'), '--quick', '--out', out], { timeout: 170_000 }, (error, _stdout, stderr) =>
        error ? reject(new Error(`the bench failed: ${error.message}\n${stderr}`)) : resolve());
    });
    results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as typeof results;
    report = readFileSync(path.join(out, 'results.md'), 'utf8');
  });

  after(() => rmSync(out, { recursive: true, force: true }));

  it('measures every scenario, with numbers', () => {
    for (const scenario of SCENARIOS) {
      const runs = results.runs[scenario] as unknown as Array<Record<string, number>>;
      assert.ok(runs.length > 0, `${scenario} has no runs`);
      for (const run of runs) {
        for (const [metric, value] of Object.entries(run)) {
          if (typeof value === 'number') assert.ok(Number.isFinite(value), `${scenario}.${metric} is ${value}`);
        }
      }
    }
    assert.ok(results.runs.baseline.every((r) => r.rps > 0));
    assert.equal(results.verdicts.length, 10, 'a verdict for every target');
  });

  it('gets a 2xx for every request and delivers every acknowledged event, correctly signed', () => {
    for (const run of [...results.runs.ingest, ...results.runs.scaleSmall, ...results.runs.scaleLarge]) assert.equal(run.failed, 0);
    for (const run of results.runs.sustained) {
      assert.equal(run.failed, 0);
      assert.ok(run.ok > 0);
      assert.equal(run.missing, 0, 'every acknowledged event reached the sink');
      assert.equal(run.badSignatures, 0);
    }
    for (const run of results.runs.latency) assert.equal(run.delivered, run.sent);
    for (const run of [...results.runs.backlog, ...results.runs.bigBacklog]) assert.ok(run.delivered >= run.count);
  });

  it('routes each event to the one rule that fires, however many rules there are', () => {
    for (const run of [...results.runs.scaleSmall, ...results.runs.scaleLarge]) assert.equal(run.deliveries, run.ok);
  });

  it('writes a report with the machine and a table of medians', () => {
    assert.match(report, /^Machine: \d+ cores/m);
    assert.match(report, /\| 1 ingest only/);
    assert.match(report, /\| 6 memory/);
  });
});
