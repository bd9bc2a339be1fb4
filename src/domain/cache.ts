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
