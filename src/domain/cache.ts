import type { LRUCache } from 'lru-cache';
import { DomainError } from './errors.js';

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

/** What a process does when another one says cached entries are stale. */
export interface InvalidationListener {
  /** Forget one key (its row was deleted or replaced elsewhere). */
  drop(key: string): void;
  /** Forget everything: invalidations may have been missed (the channel was down). */
  dropAll(): void;
}

/**
 * Cache invalidation across processes: replicas of a service (or several monoliths on one database)
 * each hold their own cache, and a compensation run in one of them must not leave the others serving
 * the deleted row until it expires (issue #14). How the word travels is not the domain's business.
 */
export interface CacheInvalidation {
  /** Tells the other processes that `key` of the cache `name` is stale; returns at once. */
  publish(name: string, key: string | number): void;
  /** Hears what the other processes publish for the cache `name`. */
  subscribe(name: string, listener: InvalidationListener): void;
}

/** One process alone: nothing to tell anyone (entries live until CACHE_TTL_MS). */
export const localOnly: CacheInvalidation = { publish() {}, subscribe() {} };

/**
 * One read through `cache`, counted. A hit is answered by a plain `get`, without lru-cache's fetch
 * machinery (a promise and a status object per call were a third of `GET /user`'s CPU; bench/NOTES.md).
 * A miss (or an entry whose fetch is still under way) goes through `fetch`, so concurrent misses for
 * one key share one query and a delete during that query discards its result.
 *
 * Discarding is an abort: lru-cache rejects every caller waiting on that fetch with a plain `deleted`
 * error, which answered a read racing a compensation with 500 (issue #14). Such a read goes to `load`
 * (the store) itself, after the delete, and is answered with what is there now; it is not cached, since
 * another delete may already be on its way. The loader's own failures (our errors) pass through.
 */
export async function readThrough<K extends {}, V extends {}>(
  cache: LRUCache<K, V>,
  key: K,
  name: string,
  counters: CacheCounters,
  load: (key: K) => Promise<V | undefined>,
): Promise<V | undefined> {
  const cached = cache.get(key);
  if (cached !== undefined) {
    counters.hit(name);
    return cached;
  }
  const status: LRUCache.Status<K, V> = {};
  let fetched: V | undefined;
  try {
    fetched = await cache.fetch(key, { status });
  } catch (error) {
    if (error instanceof DomainError) throw error;
    counters.miss(name);
    return load(key);
  }
  if (status.fetch === 'hit') counters.hit(name);
  else counters.miss(name);
  return fetched;
}
