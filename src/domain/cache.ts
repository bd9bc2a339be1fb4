import type { LRUCache } from 'lru-cache';

/** Bounds for the read-through caches (`CACHE_MAX`, `CACHE_TTL_MS`). */
export interface CacheOptions {
  readonly max: number;
  readonly ttlMs: number;
}

/** Where cache hits and misses are counted (metrics); the domain does not know by what. */
export interface CacheCounters {
  hit(cache: string): void;
  miss(cache: string): void;
}

export const uncounted: CacheCounters = { hit() {}, miss() {} };

/**
 * One read through `cache`, counted. A hit is answered by a plain `get`, without lru-cache's fetch
 * machinery (a promise and a status object per call were a third of `GET /user`'s CPU; bench/NOTES.md).
 * A miss (or an entry whose fetch is still under way) goes through `fetch`, so concurrent misses for
 * one key share one query and a delete during that query discards its result.
 */
export async function readThrough<K extends {}, V extends {}>(
  cache: LRUCache<K, V>,
  key: K,
  name: string,
  counters: CacheCounters,
): Promise<V | undefined> {
  const cached = cache.get(key);
  if (cached !== undefined) {
    counters.hit(name);
    return cached;
  }
  const status: LRUCache.Status<K, V> = {};
  const fetched = await cache.fetch(key, { status });
  if (status.fetch === 'hit') counters.hit(name);
  else counters.miss(name);
  return fetched;
}
