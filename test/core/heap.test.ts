/** limitHeapGrowth: herald's heap growing factor, unless node was given one; the node flags of herald's launchers. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../src/core/paths.js';
import { limitHeapGrowth, SERVE_NODE_FLAGS } from '../../src/core/heap.js';

describe('limitHeapGrowth', () => {
  it('leaves a --heap-growing-percent given to node alone, on its command line or in NODE_OPTIONS', () => {
    assert.equal(limitHeapGrowth(['--heap-growing-percent=300']), false);
    assert.equal(limitHeapGrowth(['--enable-source-maps', '--max-old-space-size=512 --heap_growing_percent=50']), false);
  });

  it('sets it otherwise (bench/RESULTS.md measures what it does to the peak)', () => {
    assert.equal(limitHeapGrowth(['--enable-source-maps', '--max-old-space-size=512']), true);
  });

  it("gives node SERVE_NODE_FLAGS in each of herald's launchers: the bin's shebang, npm start, the systemd unit", () => {
    const read = (file: string) => readFileSync(path.join(PACKAGE_ROOT, file), 'utf8');
    const launchers = {
      shebang: read('dist/bin/herald.js').split('\n')[0]!,
      'npm start': (JSON.parse(read('package.json')) as { scripts: { start: string } }).scripts.start,
      ExecStart: read('docs/herald.service')
        .split('\n')
        .find((line) => line.startsWith('ExecStart='))!,
    };
    for (const [launcher, line] of Object.entries(launchers)) {
      for (const flag of SERVE_NODE_FLAGS) assert.ok(line.split(/\s+/).includes(flag), `${launcher} lacks ${flag}: ${line}`);
    }
  });
});
