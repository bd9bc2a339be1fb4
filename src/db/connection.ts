import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';

export type Db = MySql2Database<Record<string, never>> & { readonly $client: Pool };
/** A Db bound to the one connection a local transaction runs on (see withBarrier). */
export type Tx = MySql2Database<Record<string, never>>;
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
  const db = drizzle({ client: pool });
  return {
    db,
    pool,
    close: () => pool.end(),
  };
}
