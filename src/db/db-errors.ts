import { TransientFailure } from '../domain/errors.js';

/**
 * Tells transient database errors (worth a retry) from permanent ones, in one place. mysql2 errors carry
 * the server's `code`/`errno`, or a Node socket code, and `fatal` when the connection itself is gone.
 */
const TRANSIENT_CODES = new Set([
  'ER_LOCK_DEADLOCK', // 1213: InnoDB chose us as the victim; the transaction was rolled back
  'ER_LOCK_WAIT_TIMEOUT', // 1205
  'ER_CON_COUNT_ERROR', // 1040: too many connections
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN', // 1053
  'ER_QUERY_INTERRUPTED', // 1317
  'ER_CONNECTION_KILLED', // MariaDB 1927
  'ER_CLIENT_INTERACTION_TIMEOUT', // MySQL 4031
  'ER_NET_READ_ERROR',
  'ER_NET_READ_INTERRUPTED',
  'ER_NET_ERROR_ON_WRITE',
  'ER_NET_WRITE_INTERRUPTED',
  'ER_OPTION_PREVENTS_STATEMENT', // read-only replica during a failover
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

const TRANSIENT_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013, 4031]);

interface MysqlLikeError {
  code?: unknown;
  errno?: unknown;
  fatal?: unknown;
  message?: unknown;
}

/** The driver's own error: drizzle wraps it (DrizzleQueryError) with the driver error as `cause`. */
function asMysqlError(error: unknown): MysqlLikeError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const candidate = current as MysqlLikeError & { cause?: unknown };
    if (candidate.code !== undefined || candidate.errno !== undefined || candidate.fatal !== undefined) {
      return candidate;
    }
    if (candidate.cause === undefined) return candidate;
    current = candidate.cause;
  }
  return undefined;
}

export function isTransientDbError(error: unknown): boolean {
  const e = asMysqlError(error);
  if (!e) return false;
  if (e.fatal === true) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.errno === 'number' && TRANSIENT_ERRNOS.has(e.errno)) return true;
  // mysql2 answers a query on a pool or connection that is closing with a plain Error.
  return (
    typeof e.message === 'string' && /closed state|Pool is closed|connection is in closed/i.test(e.message)
  );
}

/** A unique key was hit (each of our business tables has exactly one key a caller can collide on). */
export function isDuplicateKey(error: unknown): boolean {
  return asMysqlError(error)?.code === 'ER_DUP_ENTRY';
}

/**
 * Rethrows a database error in domain terms: transient ones become TransientFailure (so callers retry
 * and HTTP answers 503); anything else is a bug or a permanent problem and is rethrown as it is.
 */
export function translateDbError(error: unknown): never {
  if (isTransientDbError(error)) {
    const e = asMysqlError(error);
    const code = typeof e?.code === 'string' ? e.code : 'connection error';
    throw new TransientFailure('unavailable', `database unavailable (${code})`, { cause: error });
  }
  throw error;
}

/** Runs a database call and translates its failure (see translateDbError). */
export async function dbCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    translateDbError(error);
  }
}
