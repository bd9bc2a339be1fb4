import { notInArray, sql } from 'drizzle-orm';
import {
  type BarrierPruneRequest,
  type BarrierTable,
  checkPruneRequest,
  PRUNE_LIMITS,
} from '../domain/barrier-prune.js';
import type { SagaQueries, UnfinishedSagas } from '../domain/saga-queries.js';
import type { Db } from './connection.js';
import { dbCall } from './db-errors.js';
import { barrier } from './schema/barrier.js';

export const DEFAULT_BATCH_SIZE = 1_000;

/**
 * How much younger than the cutoff a saga may look and still have its rows kept. A saga's row is committed
 * before its first branch runs, so its barrier rows are never older than its created_at, but in the split
 * deployment they are stamped by another database's clock, and a row can commit a little after the
 * instant it holds. An hour absorbs both; it only keeps a few more rows (of sagas not final yet).
 */
export const KEEP_MARGIN_MS = 3_600_000;

/**
 * The barrier table of a database this process reaches. Oldest first, in small batches, so each DELETE
 * holds its locks briefly and live branches never wait behind a purge. The cutoff is the barrier
 * database's own NOW(): it is the clock that stamped create_time.
 */
export function createBarrierTable(db: Db): BarrierTable {
  return {
    pruneBatch: (request) =>
      dbCall(async () => {
        const { olderThanMs, keepGids, batchSize } = checkPruneRequest(request);
        // A NULL gid is in no saga; `NULL NOT IN (...)` is not true, so it is let go explicitly.
        const keep =
          keepGids.length === 0
            ? sql``
            : sql` AND (${barrier.gid} IS NULL OR ${notInArray(barrier.gid, [...keepGids])})`;
        const [result] = await db.execute(
          sql`DELETE FROM ${barrier} WHERE ${barrier.createTime} < NOW(3) - INTERVAL ${olderThanMs * 1_000} MICROSECOND${keep} ORDER BY ${barrier.createTime} LIMIT ${batchSize}`,
        );
        return result.affectedRows;
      }),
  };
}

/** What one pass may delete, decided by the saga log; the same for every barrier table. */
export interface PrunePlan {
  readonly olderThanMs: number;
  readonly keepGids: readonly string[];
  /**
   * Set when too many unfinished sagas were old to name them all: nothing newer than the oldest of them
   * (less the margin) goes, whatever its gid.
   */
  readonly horizon?: { readonly gid: string; readonly createdAt: Date };
}

/**
 * The rule, given the unfinished sagas created before (cutoff + margin): a row may go when it is older
 * than the retention and its gid is not one of them. Gids the log does not know (a DTM server driving our
 * services) go by age.
 */
export function planFrom(unfinished: UnfinishedSagas, retentionMs: number): PrunePlan {
  const [oldest] = unfinished.sagas;
  if (oldest === undefined || unfinished.sagas.length <= PRUNE_LIMITS.maxKeepGids) {
    return { olderThanMs: retentionMs, keepGids: unfinished.sagas.map((saga) => saga.gid) };
  }
  const oldestAgeMs = unfinished.now.getTime() - oldest.createdAt.getTime();
  return {
    olderThanMs: Math.max(retentionMs, Math.ceil(oldestAgeMs + KEEP_MARGIN_MS)),
    keepGids: [],
    horizon: { gid: oldest.gid, createdAt: oldest.createdAt },
  };
}

/** Reads the saga log once (one index range per unfinished status) and plans a pass. */
export async function planPrune(
  queries: Pick<SagaQueries, 'unfinishedOlderThan'>,
  retentionMs: number,
): Promise<PrunePlan> {
  const unfinished = await queries.unfinishedOlderThan(
    Math.max(0, retentionMs - KEEP_MARGIN_MS),
    PRUNE_LIMITS.maxKeepGids + 1,
  );
  return planFrom(unfinished, retentionMs);
}

/** Prunes one table batch after batch until a batch comes back short (or `signal` stops it). */
export async function pruneTable(
  table: BarrierTable,
  plan: PrunePlan,
  options: { readonly batchSize?: number; readonly signal?: AbortSignal } = {},
): Promise<number> {
  const request: BarrierPruneRequest = {
    olderThanMs: plan.olderThanMs,
    keepGids: plan.keepGids,
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
  };
  let total = 0;
  while (!options.signal?.aborted) {
    const deleted = await table.pruneBatch(request, options.signal);
    total += deleted;
    if (deleted < request.batchSize) break;
  }
  return total;
}

/** A barrier table and the name log lines give it (`user`, `score (grpc://…)`). */
export interface PruneTarget {
  readonly name: string;
  readonly table: BarrierTable;
}

export interface PrunerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface PruneOptions {
  readonly retentionMs: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * One pass over every table: the plan is read from the saga log first (if it cannot be read, nothing is
 * pruned: pruning blind is what lost compensations), then each table is pruned; one table failing (a
 * service down) does not stop the others. Returns the rows deleted per table that answered.
 * DTM leaves cleanup to its users (dtm-labs/dtm#389).
 */
export async function pruneBarriers(
  queries: Pick<SagaQueries, 'unfinishedOlderThan'>,
  targets: readonly PruneTarget[],
  options: PruneOptions,
  log: PrunerLog,
): Promise<Map<string, number>> {
  const plan = await planPrune(queries, options.retentionMs);
  if (plan.horizon) {
    log.warn(
      { gid: plan.horizon.gid, createdAt: plan.horizon.createdAt, keptNewerThanMs: plan.olderThanMs },
      `more than ${PRUNE_LIMITS.maxKeepGids} sagas older than the barrier retention are not final: ` +
        `keeping every barrier row newer than the oldest of them, ${plan.horizon.gid}`,
    );
  }
  const deleted = new Map<string, number>();
  for (const target of targets) {
    if (options.signal?.aborted) break;
    try {
      const count = await pruneTable(target.table, plan, options);
      deleted.set(target.name, count);
      if (count > 0) {
        log.info(
          { table: target.name, deleted: count, kept: plan.keepGids.length, olderThanMs: plan.olderThanMs },
          'old barrier rows pruned',
        );
      }
    } catch (error) {
      // A stop cancels the call under way: that is no failure worth a line.
      if (options.signal?.aborted) break;
      log.warn({ err: error, table: target.name }, 'barrier pruning failed; will try again');
    }
  }
  return deleted;
}

/**
 * Prunes every `intervalMs` in the background (0 turns it off), a pass at a time; returns a stop
 * function. Only the process with the saga log runs it: the api role.
 */
export function startBarrierPruner(
  queries: Pick<SagaQueries, 'unfinishedOlderThan'>,
  targets: readonly PruneTarget[],
  options: { readonly retentionMs: number; readonly intervalMs: number; readonly batchSize?: number },
  log: PrunerLog,
): () => Promise<void> {
  if (options.intervalMs <= 0 || targets.length === 0) return async () => {};
  log.info(
    { tables: targets.map((target) => target.name), retentionMs: options.retentionMs },
    'pruning barrier tables; rows of sagas not final yet are kept',
  );
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return; // a slow pass (a service timing out) is not stacked on
    running = pruneBarriers(
      queries,
      targets,
      { retentionMs: options.retentionMs, signal: controller.signal, ...withBatch(options.batchSize) },
      log,
    )
      .then(
        () => {},
        (error: unknown) =>
          log.warn({ err: error }, 'barrier pruning skipped: the saga log could not be read; will try again'),
      )
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    controller.abort();
    await running;
  };
}

function withBatch(batchSize: number | undefined): { batchSize?: number } {
  return batchSize === undefined ? {} : { batchSize };
}
