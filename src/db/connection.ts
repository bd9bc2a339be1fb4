import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import mysql, { type Pool, type PoolConnection, type PoolOptions } from 'mysql2/promise';

export type Db = MySql2Database<Record<string, never>> & { readonly $client: Pool };
/** A Db bound to the one connection a local transaction runs on (see withBarrier). */
export type Tx = MySql2Database<Record<string, never>> & { readonly $client: PoolConnection };
/** Either: repositories run the same queries inside or outside a transaction. */
export type Executor = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly pool: Pool;
  close(): Promise<void>;
}

export interface PoolSettings {
  readonly poolSize: number;
}

/** Options shared by every connection we open, pooled or single. */
export function connectionOptions(url: string): PoolOptions {
  return {
    uri: url,
    // DATETIME columns hold UTC; the session zone is set to match on every connection (below).
    timezone: 'Z',
    supportBigNumbers: true,
    connectTimeout: 5_000,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    // mysql2 captures a stack trace on every query for its errors' sake: about 7% of the service's CPU
    // under load (bench/NOTES.md). Our errors are translated to typed ones anyway.
    trace: false,
    // mysql2 keeps each connection's prepared statements in an LRU that allocates its slots up front:
    // 16,000 by default, half a megabyte of heap per connection (two pools of DB_POOL_SIZE each). We
    // prepare about a dozen distinct statements; an evicted one is closed and prepared again if needed.
    maxPreparedStatements: 64,
  };
}

export function openDatabase(url: string, settings: PoolSettings): Database {
  const pool = mysql.createPool({
    ...connectionOptions(url),
    connectionLimit: settings.poolSize,
    maxIdle: settings.poolSize,
    idleTimeout: 60_000,
    // A request should fail fast with 503 rather than queue forever behind a dead server.
    queueLimit: 10_000,
  });
  // NOW(3) in lease and retention queries must agree with the UTC instants we write from JavaScript.
  pool.pool.on('connection', (connection) => {
    // A failure here means the connection is already broken; the next query on it reports that.
    connection.query("SET time_zone = '+00:00'", () => {});
  });
  // Branch transactions get connections of their own with autocommit off: a transaction then begins with
  // its first statement, saving a START TRANSACTION round trip per branch (bench/NOTES.md). Every use of
  // such a connection must end in COMMIT or ROLLBACK, so only withBarrier takes them (branchPoolOf).
  const branchPool = mysql.createPool({
    ...connectionOptions(url),
    // A branch's common case goes in one packet of statements (barrier.ts, inOnePacket). Only statements
    // built from the schema are sent on these connections, every value bound by the driver.
    multipleStatements: true,
    connectionLimit: settings.poolSize,
    maxIdle: settings.poolSize,
    idleTimeout: 60_000,
    queueLimit: 10_000,
  });
  branchPool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00', autocommit = 0", () => {});
  });
  branchPools.set(pool, branchPool);
  const db = drizzle({ client: pool });
  return {
    db,
    pool,
    close: async () => {
      await Promise.all([pool.end(), branchPool.end()]);
    },
  };
}

const branchPools = new WeakMap<Pool, Pool>();

/** The autocommit-off pool for branch transactions that goes with `pool` (see openDatabase). */
export function branchPoolOf(pool: Pool): Pool | undefined {
  return branchPools.get(pool);
}
