import { randomBytes } from 'node:crypto';
import { seededRandom } from '../../src/faults/fault-injector.js';

/**
 * The order scenarios run in, drawn from a seed so a run can be repeated (`--seed N`). A fixed order
 * (baseline first in every round) would charge whatever drifts with time in a round, the machine's
 * speed or the server's buffer pool and redo, to the same scenario every time.
 */
export function orderDrawer(seed: number) {
  const random = seededRandom(seed);
  return {
    /** A shuffled copy (Fisher–Yates). */
    shuffled<T>(items: readonly T[]): T[] {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy;
    },
    /** A fair coin, e.g. which of two loads measured back to back goes first. */
    coin(): boolean {
      return random() < 0.5;
    },
  };
}

/** `--seed N` as given (a whole number, 0 to 2^32 − 1), else a fresh one. */
export function parseSeed(text: string | undefined): number | string {
  if (text === undefined) return randomBytes(4).readUInt32BE();
  const seed = Number(text);
  return /^\d+$/.test(text) && seed <= 0xffff_ffff
    ? seed
    : '--seed expects a whole number from 0 to 4294967295';
}
