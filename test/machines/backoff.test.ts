import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay, backoffFloor } from '../../src/machines/backoff.js';

const policy = { baseMs: 100, factor: 2, maxMs: 1_000 };

describe('backoff', () => {
  it('grows by the factor from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffCeiling(policy, attempt))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it('jitters between half the ceiling and the ceiling', () => {
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 3, () => 0.999_999)).toBe(400);
    expect(backoffFloor(policy, 3)).toBe(200);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelay(policy, 4);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});
