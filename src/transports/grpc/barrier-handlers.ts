import type { BarrierTable } from '../../domain/barrier-prune.js';
import type { BarriersHandlers } from './generated/barrier/Barriers.js';
import { type HandlerContext, unary } from './unary.js';

/**
 * `barrier.Barriers` over this service's own barrier table. The api process calls it with the gids its
 * saga log still needs; the table checks the request (InvalidArgument: INVALID_ARGUMENT), and one call
 * deletes one batch, so a call stays well inside the caller's deadline.
 */
export function barrierHandlers(table: BarrierTable, context: HandlerContext): BarriersHandlers {
  return {
    prune: unary(context, 'barrier.Barriers/prune', async (request) => ({
      deleted: await table.pruneBatch({
        olderThanMs: request.olderThanSeconds * 1_000,
        keepGids: request.keepGids,
        batchSize: request.batchSize,
      }),
    })),
  };
}
