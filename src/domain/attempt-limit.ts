import { LRUCache } from 'lru-cache';
import { RateLimited } from './errors.js';

/** At most `max` attempts per key in each window of `windowMs`. */
export interface AttemptLimit {
  readonly max: number;
  readonly windowMs: number;
}

export interface AttemptCounter {
  /** Counts one attempt for `key`; throws RateLimited (with when to come back) past the limit. */
  take(key: string | number, message: string): void;
}

/** Keys remembered at once: an attacker cycling through keys evicts the oldest windows, not memory. */
const MAX_KEYS = 100_000;

/**
 * Fixed-window attempt counting in this process, for limits that belong to a domain service whatever
 * transport calls it (password checks per user id: HTTP's /login and gRPC's verifyPassword alike).
 * An entry expires with its window (lru-cache's ttl from the first attempt).
 */
export function createAttemptCounter(limit: AttemptLimit, now: () => number = Date.now): AttemptCounter {
  const windows = new LRUCache<string | number, { count: number; endsAt: number }>({
    max: MAX_KEYS,
    ttl: limit.windowMs,
    perf: { now },
  });
  return {
    take(key, message) {
      let window = windows.get(key);
      if (window === undefined || window.endsAt <= now()) {
        window = { count: 0, endsAt: now() + limit.windowMs };
        windows.set(key, window);
      }
      window.count++;
      if (window.count > limit.max) {
        throw new RateLimited(message, { retryAfterSeconds: Math.max(1, (window.endsAt - now()) / 1000) });
      }
    },
  };
}
