import { and, eq, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import {
  type BranchGuard,
  type BranchRef,
  type BranchRider,
  type BranchRun,
  isCompensatingOp,
  originOp,
} from '../domain/branch.js';
import { DomainError } from '../domain/errors.js';
import { branchPoolOf, type Db, type Tx } from './connection.js';
import { translateDbError } from './db-errors.js';
import { barrier } from './schema/barrier.js';
import { sqlBuilder, statement } from './statement.js';

// Each branch call holds one barrier per op, as DTM's first barrier in a call ("01"). A branch that
// needs several barriers in one call would number them 02, 03, ... exactly as DTM does.
const BARRIER_ID = '01';

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
  alongside?: BranchRider,
): Promise<BranchRun<T>> {
  const branchPool = branchPoolOf(db.$client);
  let connection: PoolConnection;
  try {
    connection = await (branchPool ?? db.$client).getConnection();
  } catch (error) {
    translateDbError(error);
  }
  let broken = false;
  try {
    // On a branch-pool connection (autocommit off) the first statement opens the transaction.
    if (branchPool === undefined) await connection.query('START TRANSACTION');
    try {
      const origin = originOp[branch.op];
      const originInserted =
        origin !== undefined && (await insertBarrier(connection, branch, origin, branch.op));
      const currentInserted = await insertBarrier(connection, branch, branch.op, branch.op);

      let run: BranchRun<T>;
      if (!currentInserted) run = { outcome: await repeatOutcome(connection, branch) };
      else if (originInserted) run = { outcome: 'nullCompensation' };
      else {
        if (alongside?.first) await alongside.write(boundDb(connection), 'done');
        run = { outcome: 'done', value: await business(boundDb(connection)) };
      }
      if (alongside && !(alongside.first && run.outcome === 'done'))
        await alongside.write(boundDb(connection), run.outcome);
      await connection.query('COMMIT');
      return run;
    } catch (error) {
      // A connection that cannot roll back may hold a transaction open: it must not go back to the pool.
      await connection.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    return translateDbError(error);
  } finally {
    if (broken) connection.destroy();
    else connection.release();
  }
}

// The barrier runs on every branch call: its statements are built once (query building per call was a
// fifth of the engine's CPU; bench/NOTES.md) and run as prepared statements.
const INSERT_BARRIER = statement<'transType' | 'gid' | 'branchId' | 'op' | 'reason'>(
  sqlBuilder
    .insert(barrier)
    .ignore()
    .values({
      transType: sql.placeholder('transType'),
      gid: sql.placeholder('gid'),
      branchId: sql.placeholder('branchId'),
      op: sql.placeholder('op'),
      barrierId: BARRIER_ID,
      reason: sql.placeholder('reason'),
    }),
);
const SELECT_REASON = statement<'gid' | 'branchId' | 'op'>(
  sqlBuilder
    .select({ reason: barrier.reason })
    .from(barrier)
    .where(
      and(
        eq(barrier.gid, sql.placeholder('gid')),
        eq(barrier.branchId, sql.placeholder('branchId')),
        eq(barrier.op, sql.placeholder('op')),
        eq(barrier.barrierId, BARRIER_ID),
      ),
    ),
);

async function insertBarrier(
  connection: PoolConnection,
  branch: BranchRef,
  op: string,
  reason: string,
): Promise<boolean> {
  const [result] = await connection.execute<ResultSetHeader>(
    INSERT_BARRIER.sql,
    INSERT_BARRIER.bind({
      transType: branch.transType,
      gid: branch.gid,
      branchId: branch.branchId,
      op,
      reason,
    }),
  );
  return result.affectedRows === 1;
}

/** The current op's row was already there: who wrote it tells a repeat from a hanging action. */
async function repeatOutcome(
  connection: PoolConnection,
  branch: BranchRef,
): Promise<'duplicate' | 'hanging'> {
  if (isCompensatingOp(branch.op)) return 'duplicate';
  const [rows] = await connection.execute<RowDataPacket[]>(
    SELECT_REASON.sql,
    SELECT_REASON.bind({ gid: branch.gid, branchId: branch.branchId, op: branch.op }),
  );
  const row = rows[0];
  return row !== undefined && row.reason !== branch.op ? 'hanging' : 'duplicate';
}

// Pooled connections live as long as the pool: one drizzle instance each, made on first use.
const boundDbs = new WeakMap<PoolConnection, Tx>();

/** Drizzle over one connection, for business code that runs inside the barrier's transaction. */
function boundDb(connection: PoolConnection): Tx {
  let bound = boundDbs.get(connection);
  if (bound === undefined) {
    bound = drizzle({ client: connection }) as Tx;
    boundDbs.set(connection, bound);
  }
  return bound;
}

/** The domain's BranchGuard over a database: `scope` binds the service's writes to the transaction. */
export function barrierGuard<Scope>(db: Db, scope: (tx: Tx) => Scope): BranchGuard<Scope> {
  return {
    run: (branch, work, alongside) => withBarrier(db, branch, (tx) => work(scope(tx)), alongside),
  };
}
