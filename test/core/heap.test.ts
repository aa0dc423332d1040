/** limitHeapGrowth: herald's heap growing factor, unless node was given one. */
import assert from 'node:assert/strict';
import { limitHeapGrowth } from '../../src/core/heap.js';

describe('limitHeapGrowth', () => {
  it('leaves a --heap-growing-percent given to node alone, on its command line or in NODE_OPTIONS', () => {
    assert.equal(limitHeapGrowth(['--heap-growing-percent=300']), false);
    assert.equal(limitHeapGrowth(['--enable-source-maps', '--max-old-space-size=512 --heap_growing_percent=50']), false);
  });

  it('sets it otherwise (bench/RESULTS.md measures what it does to the peak)', () => {
    assert.equal(limitHeapGrowth(['--enable-source-maps', '--max-old-space-size=512']), true);
  });
});
