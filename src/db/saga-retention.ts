import { sql } from 'drizzle-orm';
import type { SagaStatus } from '../domain/saga.js';
import type { Db } from './connection.js';
import { sagaFinishedPerMinute, sagas } from './schema/saga.js';

/** The statuses a saga never leaves (domain/saga.ts isFinalStatus; the test checks they agree). */
export const FINAL_SAGA_STATUSES = ['succeeded', 'aborted'] as const satisfies readonly SagaStatus[];

export interface SagaPruneOptions {
  readonly olderThanMs: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/** The per-minute counts of finished sagas are read for at most the last hour; a day is plenty. */
const FINISHED_COUNTS_KEPT_MS = 86_400_000;

/**
 * Deletes final sagas (succeeded, aborted) created and finished more than `olderThanMs` ago, oldest
 * first, in small batches so each DELETE holds its locks briefly and running sagas never wait behind a
 * purge. A saga still pending or compensating is never touched, however old. Ages are by the database
 * clock. Each batch is a range of the (status, type, created_at) index, one per final status and type.
 * Also drops per-minute counts older than a day. Returns how many sagas went.
 */
export async function pruneSagas(db: Db, options: SagaPruneOptions): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const micros = options.olderThanMs * 1000;
  const pairs = await db
    .select({ status: sagas.status, type: sagas.type })
    .from(sagas, { forceIndex: 'idx_saga_status_type_created' })
    .groupBy(sagas.status, sagas.type);
  let total = 0;
  for (const { status, type } of pairs) {
    if (!(FINAL_SAGA_STATUSES as readonly string[]).includes(status)) continue;
    while (!options.signal?.aborted) {
      const [result] = await db.execute(
        sql`DELETE FROM ${sagas} WHERE ${sagas.status} = ${status} AND ${sagas.type} = ${type} AND ${sagas.createdAt} < NOW(3) - INTERVAL ${micros} MICROSECOND AND ${sagas.finishedAt} < NOW(3) - INTERVAL ${micros} MICROSECOND ORDER BY ${sagas.createdAt} LIMIT ${batchSize}`,
      );
      total += result.affectedRows;
      if (result.affectedRows < batchSize) break;
    }
  }
  await db.execute(
    sql`DELETE FROM ${sagaFinishedPerMinute} WHERE ${sagaFinishedPerMinute.minute} < NOW() - INTERVAL ${FINISHED_COUNTS_KEPT_MS / 1000} SECOND`,
  );
  return total;
}

export interface SagaPrunerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Prunes every `intervalMs` in the background (0 turns it off); returns a stop function. */
export function startSagaPruner(
  db: Db,
  options: { readonly retentionMs: number; readonly intervalMs: number },
  log: SagaPrunerLog,
): () => Promise<void> {
  if (options.intervalMs <= 0) return async () => {};
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = pruneSagas(db, { olderThanMs: options.retentionMs, signal: controller.signal })
      .then((deleted) => {
        if (deleted > 0) log.info({ deleted, retentionMs: options.retentionMs }, 'finished sagas pruned');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'saga pruning failed; will try again'));
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    controller.abort();
    await running;
  };
}
