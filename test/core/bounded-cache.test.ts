import assert from 'node:assert/strict';
import { BoundedCache } from '../../src/core/bounded-cache.js';

describe('BoundedCache', () => {
  it('keeps at most max entries, evicting the least recently used (a get counts as a use)', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    assert.equal(cache.get('a'), 1); // now b is the least recently used
    cache.set('c', 3);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    cache.set('c', 4); // replacing a value does not grow the cache
    cache.set('d', 5);
    assert.equal(cache.get('a'), undefined);
    assert.deepEqual([cache.get('c'), cache.get('d')], [4, 5]);
  });
});
