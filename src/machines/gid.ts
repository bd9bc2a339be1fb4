import { randomFillSync } from 'node:crypto';
import { ulid } from 'ulid';

// ulid's default source asks the OS for one random byte per character (16 calls per id); one buffer
// filled now and then gives the same cryptographic bytes for a fraction of the cost.
const pool = new Uint8Array(4096);
let offset = pool.length;

function randomFraction(): number {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  // 256 is a multiple of ulid's alphabet of 32: every character stays equally likely.
  return (pool[offset++] as number) / 256;
}

/** A new saga id: a ULID (time-ordered, 26 characters, 80 random bits). */
export function newGid(): string {
  return ulid(Date.now(), randomFraction);
}
