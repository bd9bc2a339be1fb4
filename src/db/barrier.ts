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
  options: BarrierOptions = {},
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
    else if (options.packed && alongside?.expectsWork !== false) {
      const packed = await inOnePacket(connection, branch, business, alongside);
      if (packed.committed) return packed.run;
      broken = packed.broken;
      if (broken) throw packed.error;
    }
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

export interface BarrierOptions {
  /**
   * The business code only writes (no reads: it is given a recorder, not the database, see
   * inOnePacket): the branch is tried in one packet first.
   */
  readonly packed?: boolean;
}

/** A statement recorded for the packet, and how many rows it must touch for the packet to commit. */
interface Packed {
  readonly sql: string;
  readonly values: readonly unknown[];
  readonly expect: number | undefined;
}

/** A stand-in for the branch's connection that records what is sent to it and answers "one row". */
function recorder(into: Packed[], expect: number | undefined): Tx {
  const execute = (sql: string, values: readonly unknown[] = []) => {
    into.push({ sql, values, expect });
    return Promise.resolve([{ affectedRows: 1, insertId: 0 }, []]);
  };
  return { $client: { execute } } as unknown as Tx;
}

type PacketOutcome<T> =
  | { readonly committed: true; readonly run: BranchRun<T> }
  | { readonly committed: false; readonly broken: boolean; readonly error?: unknown };

/**
 * The common case of a branch in two round trips instead of four or five: the barrier rows, the
 * business code's writes and the rider's, sent as one multi-statement packet (values bound by the
 * driver, never pasted by us), then COMMIT. The business code and the rider run first against a
 * recorder (they only write), and the packet commits only if every row count says the common case
 * happened: the barrier row is new (for a compensation, its origin row was there: not a null
 * compensation), and each rider write touched its row (the lease is still ours). Anything else (a
 * repeat, a hanging action, a null compensation, a lost lease, a business refusal, any error) rolls the
 * packet back, and the branch runs again the ordinary way, statement by statement, which answers it.
 */
async function inOnePacket<T>(
  connection: PoolConnection,
  branch: BranchRef,
  business: (tx: Tx) => Promise<T>,
  alongside: BranchRider | undefined,
): Promise<PacketOutcome<T>> {
  const packet: Packed[] = [];
  const barrierRow = (op: string, expect: number) => {
    const values = INSERT_BARRIER.bind({
      transType: branch.transType,
      gid: branch.gid,
      branchId: branch.branchId,
      op,
      reason: branch.op,
    });
    packet.push({ sql: INSERT_BARRIER.sql, values, expect });
  };
  let value: T;
  try {
    const origin = originOp[branch.op];
    if (origin !== undefined) barrierRow(origin, 0);
    barrierRow(branch.op, 1);
    if (alongside?.first) await alongside.write(recorder(packet, 1), 'done');
    value = await business(recorder(packet, undefined));
    if (alongside && !alongside.first) await alongside.write(recorder(packet, 1), 'done');
  } catch {
    // A refusal, say: the ordinary way runs the barrier first, and then the business code again.
    return { committed: false, broken: false };
  }
  try {
    const [results] = await connection.query<ResultSetHeader[]>(
      packet.map((statement) => statement.sql).join(';\n'),
      packet.flatMap((statement) => statement.values),
    );
    const common = packet.every(
      (statement, index) =>
        statement.expect === undefined || results[index]?.affectedRows === statement.expect,
    );
    if (common) {
      await connection.query('COMMIT');
      return { committed: true, run: { outcome: 'done', value } };
    }
    await connection.query('ROLLBACK');
    return { committed: false, broken: false };
  } catch (error) {
    // A connection that cannot roll back may hold a transaction open: it must not go back to the pool.
    const rolledBack = await connection.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    return { committed: false, broken: !rolledBack, error };
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
export function barrierGuard<Scope>(
  db: Db,
  scope: (tx: Tx) => Scope,
  options: BarrierOptions = {},
): BranchGuard<Scope> {
  return {
    run: (branch, work, alongside) => withBarrier(db, branch, (tx) => work(scope(tx)), alongside, options),
  };
}
