import { sql } from 'drizzle-orm';
import type { SagaStatus } from '../domain/saga.js';
import type { Db } from './connection.js';
import { sagas } from './schema/saga.js';

/** The statuses a saga never leaves (domain/saga.ts isFinalStatus; the test checks they agree). */
export const FINAL_SAGA_STATUSES = ['succeeded', 'aborted'] as const satisfies readonly SagaStatus[];

export interface SagaPruneOptions {
  readonly olderThanMs: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * Deletes final sagas (succeeded, aborted) that finished more than `olderThanMs` ago, oldest first, in
 * small batches so each DELETE holds its locks briefly and running sagas never wait behind a purge.
 * A saga still pending or compensating is never touched, however old. Ages are by the database clock,
 * which wrote finished_at; idx_saga_finished (finished_at, status) finds the rows. Returns how many went.
 */
export async function pruneSagas(db: Db, options: SagaPruneOptions): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  const final = sql.join(
    FINAL_SAGA_STATUSES.map((status) => sql`${status}`),
    sql`, `,
  );
  let total = 0;
  while (!options.signal?.aborted) {
    const [result] = await db.execute(
      sql`DELETE FROM ${sagas} WHERE ${sagas.finishedAt} < NOW(3) - INTERVAL ${options.olderThanMs * 1000} MICROSECOND AND ${sagas.status} IN (${final}) ORDER BY ${sagas.finishedAt} LIMIT ${batchSize}`,
    );
    total += result.affectedRows;
    if (result.affectedRows < batchSize) break;
  }
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
