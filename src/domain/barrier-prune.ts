import { InvalidArgument } from './errors.js';

/** What one call may delete from one barrier table. */
export interface BarrierPruneRequest {
  /** Rows created more than this long ago, by the barrier database's own clock, may go. */
  readonly olderThanMs: number;
  /** Rows of these gids stay, however old: the sagas not final yet. */
  readonly keepGids: readonly string[];
  /** At most this many rows go per call, so each DELETE holds its locks briefly. */
  readonly batchSize: number;
}

/**
 * A barrier table that can be pruned: over SQL where the database is reachable (db/barrier-prune.ts), or a
 * service's own table over gRPC (barrier.Barriers/prune). Only the process with the saga log decides what
 * goes; a table never prunes itself by age, or a saga still compensating would lose its action's row and
 * its late compensation would become a null compensation, leaving the business row behind.
 */
export interface BarrierTable {
  /** Deletes one batch of the rows the request allows; returns how many went (< batchSize: no more). */
  pruneBatch(request: BarrierPruneRequest, signal?: AbortSignal): Promise<number>;
}

export const PRUNE_LIMITS = {
  /** Below a minute, rows of sagas still being retried could go. */
  minAgeMs: 60_000,
  maxAgeMs: 3_650 * 86_400_000,
  /**
   * 5,000 gids of at most 128 characters fit the 1 MiB request a gRPC server accepts; past it the
   * pruner keeps everything newer than the oldest unfinished saga instead (db/barrier-prune.ts).
   */
  maxKeepGids: 5_000,
  maxGidLength: 128,
  maxBatchSize: 100_000,
} as const;

/** Checks a prune request from any caller (a remote one included); InvalidArgument says what is wrong. */
export function checkPruneRequest(request: BarrierPruneRequest): BarrierPruneRequest {
  const { olderThanMs, keepGids, batchSize } = request;
  if (!Number.isSafeInteger(olderThanMs) || olderThanMs < PRUNE_LIMITS.minAgeMs) {
    throw new InvalidArgument(`the age must be at least ${PRUNE_LIMITS.minAgeMs / 1000} seconds`);
  }
  if (olderThanMs > PRUNE_LIMITS.maxAgeMs) {
    throw new InvalidArgument(`the age must be at most ${PRUNE_LIMITS.maxAgeMs / 86_400_000} days`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > PRUNE_LIMITS.maxBatchSize) {
    throw new InvalidArgument(`the batch size must be an integer from 1 to ${PRUNE_LIMITS.maxBatchSize}`);
  }
  if (keepGids.length > PRUNE_LIMITS.maxKeepGids) {
    throw new InvalidArgument(`at most ${PRUNE_LIMITS.maxKeepGids} gids can be kept per call`);
  }
  for (const gid of keepGids) {
    if (typeof gid !== 'string' || gid.length === 0 || gid.length > PRUNE_LIMITS.maxGidLength) {
      throw new InvalidArgument(`each gid to keep must have 1 to ${PRUNE_LIMITS.maxGidLength} characters`);
    }
  }
  return request;
}
