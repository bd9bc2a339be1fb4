import { and, eq } from 'drizzle-orm';
import {
  type BarrierOutcome,
  type BranchGuard,
  type BranchRef,
  type BranchRun,
  isCompensatingOp,
  originOp,
} from '../domain/branch.js';
import { DomainError } from '../domain/errors.js';
import type { Db, Tx } from './connection.js';
import { translateDbError } from './db-errors.js';
import { barrier } from './schema/barrier.js';

// Each branch call holds one barrier per op, as DTM's first barrier in a call ("01"). A branch that
// needs several barriers in one call would number them 02, 03, ... exactly as DTM does.
const BARRIER_ID = '01';

/** Work that must commit with the branch, after its business code (a coordinator's log entry, say). */
export type AlongsideWork = (tx: Tx, outcome: BarrierOutcome) => Promise<void>;

/**
 * Runs `business` for one branch with DTM's branch barrier (dtm-labs/dtm client/dtmcli/barrier.go), all
 * in one local transaction:
 *  1. a compensating op first INSERT IGNOREs its origin's row (op=action, reason=compensate);
 *  2. then INSERT IGNORE the current op's row (reason=op);
 *  3. current row already there: a repeat (`duplicate`), or for an action whose row a compensation wrote,
 *     `hanging`; origin row newly written by a compensation: `nullCompensation`. Either way the business
 *     code is skipped and the transaction commits, keeping the marker that blocks a late action;
 *  4. otherwise run the business code and commit (`done`). A throw rolls back the barrier rows too, so a
 *     failed action leaves nothing, and its compensation then looks like a null compensation.
 */
export async function withBarrier<T>(
  db: Db,
  branch: BranchRef,
  business: (tx: Tx) => Promise<T>,
  alongside?: AlongsideWork,
): Promise<BranchRun<T>> {
  try {
    return await db.transaction(async (tx) => {
      const origin = originOp[branch.op];
      const originInserted = origin !== undefined && (await insertBarrier(tx, branch, origin, branch.op));
      const currentInserted = await insertBarrier(tx, branch, branch.op, branch.op);

      let run: BranchRun<T>;
      if (!currentInserted) run = { outcome: await repeatOutcome(tx, branch) };
      else if (originInserted) run = { outcome: 'nullCompensation' };
      else run = { outcome: 'done', value: await business(tx) };

      if (alongside) await alongside(tx, run.outcome);
      return run;
    });
  } catch (error) {
    if (error instanceof DomainError) throw error;
    translateDbError(error);
  }
}

async function insertBarrier(tx: Tx, branch: BranchRef, op: string, reason: string): Promise<boolean> {
  const [result] = await tx.insert(barrier).ignore().values({
    transType: branch.transType,
    gid: branch.gid,
    branchId: branch.branchId,
    op,
    barrierId: BARRIER_ID,
    reason,
  });
  return result.affectedRows === 1;
}

/** The current op's row was already there: who wrote it tells a repeat from a hanging action. */
async function repeatOutcome(tx: Tx, branch: BranchRef): Promise<'duplicate' | 'hanging'> {
  if (isCompensatingOp(branch.op)) return 'duplicate';
  const [row] = await tx
    .select({ reason: barrier.reason })
    .from(barrier)
    .where(
      and(
        eq(barrier.gid, branch.gid),
        eq(barrier.branchId, branch.branchId),
        eq(barrier.op, branch.op),
        eq(barrier.barrierId, BARRIER_ID),
      ),
    );
  return row !== undefined && row.reason !== branch.op ? 'hanging' : 'duplicate';
}

/** The domain's BranchGuard over a database: `scope` binds the service's writes to the transaction. */
export function barrierGuard<Scope>(db: Db, scope: (tx: Tx) => Scope): BranchGuard<Scope> {
  return {
    run: (branch, work) => withBarrier(db, branch, (tx) => work(scope(tx))),
  };
}
