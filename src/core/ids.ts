import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/**
 * Random bytes drawn from the CSPRNG 4 KiB at a time. uuid draws 16 bytes per
 * id, and each draw costs a few microseconds: under load, more than the rest
 * of making the id (the benchmark's profile showed it at 5% of ingest).
 */
const pool = new Uint8Array(4096);
let used = pool.length;

function random16(): Uint8Array {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += 16;
  return pool.subarray(used - 16, used);
}

/**
 * uuid keeps ids monotonic only when it draws the random bytes itself, so the
 * same state is kept here (RFC 9562 §6.2, method 1: a counter seeded at random
 * each millisecond, carried into the next millisecond if it overflows).
 */
const state = { msecs: -Infinity, seq: 0 };

/** herald's event ids are UUIDv7 (RFC 9562): unique, and ordered by creation time. */
export function newEventId(): string {
  const random = random16();
  const now = Date.now();
  if (now > state.msecs) {
    state.msecs = now;
    state.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    state.seq = (state.seq + 1) | 0;
    if (state.seq === 0) state.msecs++;
  }
  return uuidv7({ random, msecs: state.msecs, seq: state.seq });
}
