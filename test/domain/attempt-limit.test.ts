import { describe, expect, it } from 'vitest';
import { createAttemptCounter } from '../../src/domain/attempt-limit.js';
import { RateLimited } from '../../src/domain/errors.js';

describe('createAttemptCounter', () => {
  it('lets max attempts through per key and window, then refuses with when to come back', () => {
    let clock = 1_000_000;
    const counter = createAttemptCounter({ max: 2, windowMs: 60_000 }, () => clock);
    counter.take(7, 'x');
    counter.take(7, 'x');
    clock += 15_000;
    let refused: unknown;
    try {
      counter.take(7, 'too many');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(RateLimited);
    expect((refused as RateLimited).message).toBe('too many');
    expect((refused as RateLimited).retryAfterSeconds).toBe(45);
    // Another key has its own budget.
    expect(() => counter.take(8, 'x')).not.toThrow();
  });

  it('starts a new window once the old one has ended', () => {
    let clock = 0;
    const counter = createAttemptCounter({ max: 1, windowMs: 1_000 }, () => clock);
    counter.take('a', 'x');
    expect(() => counter.take('a', 'x')).toThrow(RateLimited);
    clock += 1_000;
    expect(() => counter.take('a', 'x')).not.toThrow();
  });
});
