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

/** What a permanent database error says about the statement: retrying it cannot help. */
export type PermanentReason = 'duplicate' | 'tooLong' | 'badValue' | 'other';

const PERMANENT_REASONS: Record<string, PermanentReason> = {
  ER_DUP_ENTRY: 'duplicate', // 1062
  ER_DATA_TOO_LONG: 'tooLong', // 1406
  ER_TRUNCATED_WRONG_VALUE: 'badValue', // 1292
  ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: 'badValue', // 1366
  ER_WARN_DATA_OUT_OF_RANGE: 'badValue', // 1264
  ER_BAD_NULL_ERROR: 'badValue', // 1048
  ER_CONSTRAINT_FAILED: 'badValue', // MariaDB 4025: a CHECK constraint
};

/**
 * A database error no retry can fix (duplicate key, data too long, bad value, a syntax error): we check
 * inputs before they reach SQL, so one of these is a bug or a schema out of step with the code. It is
 * not a DomainError on purpose: the saga treats it as internal (logged as an error, retried) and HTTP
 * answers 500, never a business answer made up from a database message.
 */
export class PermanentDbError extends Error {
  override readonly name = 'PermanentDbError';
  constructor(
    readonly reason: PermanentReason,
    readonly code: string,
    options: { cause: unknown },
  ) {
    super(`database refused the statement (${code})`, options);
  }
}

/** The typed form of a database error: TransientFailure, PermanentDbError, or the error itself if it is not the database's. */
export function classifyDbError(error: unknown): unknown {
  const e = asMysqlError(error);
  if (isTransientDbError(error)) {
    const code = typeof e?.code === 'string' ? e.code : 'connection error';
    return new TransientFailure('unavailable', `database unavailable (${code})`, { cause: error });
  }
  if (typeof e?.code === 'string' && e.code.startsWith('ER_')) {
    return new PermanentDbError(PERMANENT_REASONS[e.code] ?? 'other', e.code, { cause: error });
  }
  return error;
}

/**
 * Rethrows a database error in domain terms: transient ones become TransientFailure (so callers retry
 * and HTTP answers 503), the server's refusals PermanentDbError; anything else (a bug) as it is.
 */
export function translateDbError(error: unknown): never {
  throw classifyDbError(error);
}

/** Runs a database call and translates its failure (see translateDbError). */
export async function dbCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    translateDbError(error);
  }
}
