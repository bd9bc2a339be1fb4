import { sql } from 'drizzle-orm';
import type { Db } from './connection.js';
import { barrier } from './schema/barrier.js';

export interface PruneOptions {
  readonly olderThanMs: number;
  readonly batchSize?: number;
  readonly signal?: AbortSignal;
}

/**
 * Deletes barrier rows created more than `olderThanMs` ago, oldest first, in small batches so each
 * DELETE holds its locks briefly and live branches never wait behind a purge. Returns how many went.
 * DTM leaves this to its users (dtm-labs/dtm#389); a row is only needed while its saga can still be
 * retried or replayed, which is seconds to minutes, so a retention of days is generous.
 */
export async function pruneBarriers(db: Db, options: PruneOptions): Promise<number> {
  const batchSize = options.batchSize ?? 1_000;
  const cutoff = new Date(Date.now() - options.olderThanMs);
  let total = 0;
  while (!options.signal?.aborted) {
    const [result] = await db.execute(
      sql`DELETE FROM ${barrier} WHERE ${barrier.createTime} < ${cutoff} ORDER BY ${barrier.createTime} LIMIT ${batchSize}`,
    );
    total += result.affectedRows;
    if (result.affectedRows < batchSize) break;
  }
  return total;
}

export interface PrunerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Prunes every `intervalMs` in the background (0 turns it off); returns a stop function. */
export function startBarrierPruner(
  db: Db,
  options: { readonly retentionMs: number; readonly intervalMs: number },
  log: PrunerLog,
): () => Promise<void> {
  if (options.intervalMs <= 0) return async () => {};
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = pruneBarriers(db, { olderThanMs: options.retentionMs, signal: controller.signal })
      .then((deleted) => {
        if (deleted > 0) log.info({ deleted, retentionMs: options.retentionMs }, 'old barrier rows pruned');
      })
      .catch((error: unknown) => log.warn({ err: error }, 'barrier pruning failed; will try again'));
  }, options.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    controller.abort();
    await running;
  };
}
