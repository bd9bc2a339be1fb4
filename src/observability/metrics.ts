import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheCounters } from '../domain/cache.js';
import { LATENCY_BUCKETS } from './buckets.js';
import { createSagaMetrics, type SagaMetrics } from './saga-metrics.js';

/** mysql2's pool keeps its counts in private queues; there is no public stats API (mysql2 3.x). */
export interface PoolLike {
  readonly pool: {
    readonly config?: { readonly connectionLimit?: number };
    readonly _allConnections?: { readonly length: number };
    readonly _freeConnections?: { readonly length: number };
    readonly _connectionQueue?: { readonly length: number };
  };
}

/**
 * Told of every gRPC call: method path, status code name (`OK`, `UNAVAILABLE`), seconds (the transports'
 * `observe` hooks). A name, not grpc-js's enum: a process that never speaks gRPC does not load it.
 */
export type GrpcObserver = (method: string, code: string, seconds: number) => void;

export interface Metrics {
  readonly registry: Registry;
  readonly sagas: SagaMetrics;
  readonly cache: CacheCounters;
  readonly grpcServer: GrpcObserver;
  readonly grpcClient: GrpcObserver;
  /** One HTTP request: the route pattern (never the raw URL), method, status code, seconds. */
  httpRequest(route: string, method: string, statusCode: number, seconds: number): void;
  /** Reports the pool's connections at every scrape; nothing is counted on the query path. */
  trackPool(name: string, pool: { readonly pool: object }): void;
  /** The sagas this process runs now, read at every scrape. */
  trackInFlight(count: () => number): void;
}

/**
 * One registry per app instance (tests run several apps in one process, and two registries never share a
 * series). No label carries a gid, a user id or a raw URL: every label value comes from a small fixed set
 * (saga types, step names, route patterns, method paths, status codes), so the series count stays bounded
 * however many sagas run (DTM had to fix a label per gid that grew without end).
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const cacheHits = new Counter({
    name: 'cache_hits_total',
    help: 'Read-through cache hits',
    labelNames: ['cache'],
    registers,
  });
  const cacheMisses = new Counter({
    name: 'cache_misses_total',
    help: 'Read-through cache misses (a database read)',
    labelNames: ['cache'],
    registers,
  });
  // Children bound once per label value: prom-client's labels() builds and hashes a label object on
  // every call, which showed in GET /user's profile (bench/NOTES.md).
  const cacheHit = memoize((cache: string) => cacheHits.labels(cache));
  const cacheMiss = memoize((cache: string) => cacheMisses.labels(cache));
  for (const cache of ['user', 'score']) {
    cacheHit(cache);
    cacheMiss(cache);
  }

  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status code',
    labelNames: ['route', 'method', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const httpSeries = memoize((key: string) => {
    const [route, method, statusCode] = key.split('\n') as [string, string, string];
    return httpDuration.labels(route, method, statusCode);
  });
  const grpcServer = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'gRPC calls served, by method and status code',
    labelNames: ['method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const grpcClient = new Histogram({
    name: 'grpc_client_handling_seconds',
    help: 'gRPC calls made to the user and score services, by method and status code',
    labelNames: ['method', 'code'],
    buckets: LATENCY_BUCKETS,
    registers,
  });

  const pools = new Map<string, PoolLike>();
  const poolGauge = (name: string, help: string, read: (pool: PoolLike['pool']) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const [pool, handle] of pools) this.set({ pool }, read(handle.pool));
      },
    });
  poolGauge(
    'db_pool_connections',
    'Open connections in the pool',
    (pool) => pool._allConnections?.length ?? 0,
  );
  poolGauge(
    'db_pool_free_connections',
    'Idle connections in the pool',
    (pool) => pool._freeConnections?.length ?? 0,
  );
  poolGauge(
    'db_pool_queued_requests',
    'Queries waiting for a connection',
    (pool) => pool._connectionQueue?.length ?? 0,
  );
  poolGauge(
    'db_pool_max_connections',
    'The pool size (DB_POOL_SIZE)',
    (pool) => pool.config?.connectionLimit ?? 0,
  );

  let inFlight: () => number = () => 0;
  new Gauge({
    name: 'saga_in_flight',
    help: 'Sagas this process is running now',
    registers,
    collect() {
      this.set(inFlight());
    },
  });

  return {
    registry,
    sagas: createSagaMetrics(registry),
    cache: {
      hit: (cache) => cacheHit(cache).inc(),
      miss: (cache) => cacheMiss(cache).inc(),
    },
    grpcServer: (method, code, seconds) => grpcServer.labels(method, code).observe(seconds),
    grpcClient: (method, code, seconds) => grpcClient.labels(method, code).observe(seconds),
    httpRequest: (route, method, statusCode, seconds) =>
      httpSeries(`${route}\n${method}\n${statusCode}`).observe(seconds),
    trackPool: (name, pool) => {
      pools.set(name, pool as PoolLike);
    },
    trackInFlight: (count) => {
      inFlight = count;
    },
  };
}

/** `OK`, `ABORTED`, …: the names gRPC dashboards use. */

/**
 * Caches `make` per key. Only for keys from a bounded set (label values: route patterns, methods, status
 * codes, cache names), as every label value of ours is: the map grows no larger than the series do.
 */
function memoize<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let value = made.get(key);
    if (value === undefined) {
      value = make(key);
      made.set(key, value);
    }
    return value;
  };
}
