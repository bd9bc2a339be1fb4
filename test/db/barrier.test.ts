import { setTimeout as sleep } from 'node:timers/promises';
import { eq } from 'drizzle-orm';
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBarrier } from '../../src/db/barrier.js';
import { branchPoolOf, type Tx } from '../../src/db/connection.js';
import { users } from '../../src/db/schema/user.js';
import { createUserStore } from '../../src/db/user-store.js';
import type { BranchOp, BranchRef, BranchRider } from '../../src/domain/branch.js';
import { BusinessFailure } from '../../src/domain/errors.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let nextId = 1;

beforeAll(async () => {
  database = await createTestDatabase(['user', 'barrier'], { poolSize: 16 });
});
afterAll(async () => {
  await database?.drop();
});

function branch(gid: string, op: BranchOp): BranchRef {
  return { transType: 'saga', gid, branchId: '01', op };
}

/** The user branch's business code, counting how often each op's code actually ran. */
function userBranch(id: number, runs: Record<string, number>, delayMs = 0) {
  return {
    action: async (tx: Tx) => {
      runs.action = (runs.action ?? 0) + 1;
      if (delayMs) await sleep(delayMs);
      await tx.insert(users).values({ id, name: `user ${id}`, gender: 'x' });
    },
    compensate: async (tx: Tx) => {
      runs.compensate = (runs.compensate ?? 0) + 1;
      if (delayMs) await sleep(delayMs);
      await tx.delete(users).where(eq(users.id, id));
    },
  };
}

async function userExists(id: number): Promise<boolean> {
  const rows = await database.db.select({ id: users.id }).from(users).where(eq(users.id, id));
  return rows.length === 1;
}

async function barrierRows(gid: string) {
  const [rows] = await database.pool.query<RowDataPacket[]>(
    'SELECT trans_type, branch_id, op, barrier_id, reason FROM barrier WHERE gid = ? ORDER BY id',
    [gid],
  );
  return rows.map((row) => ({ ...row }));
}

describe('withBarrier', () => {
  it('runs an action once and records its barrier row', async () => {
    const id = nextId++;
    const runs: Record<string, number> = {};
    const result = await withBarrier(database.db, branch('g-once', 'action'), userBranch(id, runs).action);

    expect(result.outcome).toBe('done');
    expect(runs).toEqual({ action: 1 });
    expect(await userExists(id)).toBe(true);
    expect(await barrierRows('g-once')).toEqual([
      { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'action' },
    ]);
  });

  it('answers a repeated action as a duplicate without running it again', async () => {
    const id = nextId++;
    const runs: Record<string, number> = {};
    const code = userBranch(id, runs);
    await withBarrier(database.db, branch('g-twice', 'action'), code.action);
    const second = await withBarrier(database.db, branch('g-twice', 'action'), code.action);

    expect(second.outcome).toBe('duplicate');
    expect(runs).toEqual({ action: 1 });
    expect(await userExists(id)).toBe(true);
  });

  it('treats a compensation without its action as a null compensation and skips the business code', async () => {
    const id = nextId++;
    const runs: Record<string, number> = {};
    const result = await withBarrier(
      database.db,
      branch('g-null', 'compensate'),
      userBranch(id, runs).compensate,
    );

    expect(result.outcome).toBe('nullCompensation');
    expect(runs).toEqual({});
    // The compensation took the action's place (reason=compensate), which is what blocks a late action.
    expect(await barrierRows('g-null')).toEqual([
      { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'compensate' },
      { trans_type: 'saga', branch_id: '01', op: 'compensate', barrier_id: '01', reason: 'compensate' },
    ]);
  });

  it('reports an action arriving after its compensation as hanging and does not run it', async () => {
    const id = nextId++;
    const runs: Record<string, number> = {};
    const code = userBranch(id, runs);
    await withBarrier(database.db, branch('g-hang', 'compensate'), code.compensate);
    const late = await withBarrier(database.db, branch('g-hang', 'action'), code.action);

    expect(late.outcome).toBe('hanging');
    expect(runs).toEqual({});
    expect(await userExists(id)).toBe(false);
  });

  it('compensates an action once and answers a repeated compensation as a duplicate', async () => {
    const id = nextId++;
    const runs: Record<string, number> = {};
    const code = userBranch(id, runs);
    await withBarrier(database.db, branch('g-comp', 'action'), code.action);
    const first = await withBarrier(database.db, branch('g-comp', 'compensate'), code.compensate);
    const second = await withBarrier(database.db, branch('g-comp', 'compensate'), code.compensate);

    expect([first.outcome, second.outcome]).toEqual(['done', 'duplicate']);
    expect(runs).toEqual({ action: 1, compensate: 1 });
    expect(await userExists(id)).toBe(false);
  });

  it('rolls back the barrier row with a failed action, so its compensation is a null compensation', async () => {
    const id = nextId++;
    const refuse = async () => {
      throw new BusinessFailure('score_rejected');
    };
    await expect(withBarrier(database.db, branch('g-fail', 'action'), refuse)).rejects.toBeInstanceOf(
      BusinessFailure,
    );
    expect(await barrierRows('g-fail')).toEqual([]);

    const runs: Record<string, number> = {};
    const compensation = await withBarrier(
      database.db,
      branch('g-fail', 'compensate'),
      userBranch(id, runs).compensate,
    );
    expect(compensation.outcome).toBe('nullCompensation');
    expect(runs).toEqual({});
  });

  it('keeps branches of one saga apart by branch id', async () => {
    const runs: Record<string, number> = {};
    const first = await withBarrier(
      database.db,
      { ...branch('g-two', 'action'), branchId: '01' },
      async () => {
        runs.first = 1;
      },
    );
    const second = await withBarrier(
      database.db,
      { ...branch('g-two', 'action'), branchId: '02' },
      async () => {
        runs.second = 1;
      },
    );
    expect([first.outcome, second.outcome]).toEqual(['done', 'done']);
    expect(runs).toEqual({ first: 1, second: 1 });
  });

  it('runs the business code at most once per op when an action and its compensation race 200 times', async () => {
    const tally = { doneThenCompensated: 0, compensatedFirst: 0 };
    for (let round = 0; round < 200; round++) {
      const id = nextId++;
      const gid = `g-race-${round}`;
      const runs: Record<string, number> = {};
      const code = userBranch(id, runs, Math.random() < 0.5 ? 2 : 0);
      const jitter = () => sleep(Math.floor(Math.random() * 4));
      // Each call is also sent twice, as a retrying coordinator would.
      const [a1, c1, a2, c2] = await Promise.all([
        jitter().then(() => withBarrier(database.db, branch(gid, 'action'), code.action)),
        jitter().then(() => withBarrier(database.db, branch(gid, 'compensate'), code.compensate)),
        jitter().then(() => withBarrier(database.db, branch(gid, 'action'), code.action)),
        jitter().then(() => withBarrier(database.db, branch(gid, 'compensate'), code.compensate)),
      ]);
      const actions = [a1.outcome, a2.outcome].sort();
      const compensations = [c1.outcome, c2.outcome].sort();

      expect(runs.action ?? 0).toBeLessThanOrEqual(1);
      expect(runs.compensate ?? 0).toBeLessThanOrEqual(1);
      // Whatever the order, a compensation always ends up having the last word: no user is left behind.
      expect(await userExists(id)).toBe(false);
      if (runs.action === 1) {
        expect(actions).toEqual(['done', 'duplicate']);
        expect(compensations).toEqual(['done', 'duplicate']);
        expect(runs.compensate).toBe(1);
        tally.doneThenCompensated++;
      } else {
        expect(compensations).toEqual(['duplicate', 'nullCompensation']);
        expect(actions).toEqual(['hanging', 'hanging']);
        expect(runs.compensate ?? 0).toBe(0);
        tally.compensatedFirst++;
      }
    }
    // Both orders happened, so the race was real.
    expect(tally.doneThenCompensated).toBeGreaterThan(0);
    expect(tally.compensatedFirst).toBeGreaterThan(0);
  }, 120_000);
});

describe('withBarrier, a branch in one packet', () => {
  /** The user store's branch guard (its writes only write, so it packs), each branch's queries counted. */
  function packedUsers() {
    const queries: string[] = [];
    const branchPool = branchPoolOf(database.db.$client);
    if (!branchPool) throw new Error('no branch pool');
    const getConnection = branchPool.getConnection;
    // Each connection the branch takes, its statements' first words recorded on the way out.
    branchPool.getConnection = async () => {
      const connection = await getConnection.call(branchPool);
      const count =
        <F extends (...args: never[]) => unknown>(send: F) =>
        (...args: Parameters<F>) => {
          queries.push(String(args[0]).split(/\s/)[0] ?? '');
          return send.apply(connection, args);
        };
      return Object.assign(Object.create(connection), {
        query: count(connection.query),
        execute: count(connection.execute),
      });
    };
    const store = createUserStore(database.db);
    return {
      queries,
      run: (gid: string, op: BranchOp, id: number, alongside?: BranchRider) =>
        store.branches.run(
          branch(gid, op),
          (writes) =>
            op === 'action' ? writes.insert({ id, name: `user ${id}`, gender: 'x' }) : writes.deleteById(id),
          alongside,
        ),
      restore: () => {
        branchPool.getConnection = getConnection;
      },
    };
  }

  it('sends the common case as one packet and a COMMIT', async () => {
    const users = packedUsers();
    try {
      const id = nextId++;
      expect(await users.run('p-done', 'action', id)).toEqual({ outcome: 'done', value: undefined });
      expect(users.queries).toEqual(['insert', 'COMMIT']);
      expect(await userExists(id)).toBe(true);
      expect(await barrierRows('p-done')).toEqual([
        { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'action' },
      ]);
      users.queries.length = 0;
      expect((await users.run('p-done', 'compensate', id)).outcome).toBe('done');
      expect(users.queries).toEqual(['insert', 'COMMIT']);
      expect(await userExists(id)).toBe(false);
    } finally {
      users.restore();
    }
  });

  it('rolls the packet back and answers the ordinary way: repeat, null compensation, hanging, refusal', async () => {
    const users = packedUsers();
    try {
      const id = nextId++;
      expect((await users.run('p-repeat', 'action', id)).outcome).toBe('done');
      expect((await users.run('p-repeat', 'action', id)).outcome).toBe('duplicate');
      expect(await userExists(id)).toBe(true);

      const never = nextId++;
      expect((await users.run('p-null', 'compensate', never)).outcome).toBe('nullCompensation');
      expect((await users.run('p-null', 'action', never)).outcome).toBe('hanging');
      expect(await userExists(never)).toBe(false);
      expect(await barrierRows('p-null')).toEqual([
        { trans_type: 'saga', branch_id: '01', op: 'action', barrier_id: '01', reason: 'compensate' },
        { trans_type: 'saga', branch_id: '01', op: 'compensate', barrier_id: '01', reason: 'compensate' },
      ]);

      // A saga's compensation of an action that never committed: only the packet's row counts find out.
      const unexpected = nextId++;
      users.queries.length = 0;
      expect((await users.run('p-null-2', 'compensate', unexpected)).outcome).toBe('nullCompensation');
      expect(users.queries).toContain('ROLLBACK');

      // Another saga's registration of a taken id: the business refusal of the ordinary way, nothing kept.
      await expect(users.run('p-taken', 'action', id)).rejects.toMatchObject({ code: 'duplicate_user' });
      expect(await barrierRows('p-taken')).toEqual([]);
    } finally {
      users.restore();
    }
  });

  it('goes statement by statement at once when the saga expects a null compensation (no packet to roll back)', async () => {
    const users = packedUsers();
    try {
      const never = nextId++;
      const written: string[] = [];
      const rider: BranchRider = {
        first: false,
        expectsWork: false,
        write: async (_transaction, outcome) => {
          written.push(outcome);
        },
      };
      expect((await users.run('p-expected-null', 'compensate', never, rider)).outcome).toBe(
        'nullCompensation',
      );
      expect(users.queries).not.toContain('ROLLBACK');
      expect(users.queries.at(-1)).toBe('COMMIT');
      expect(written).toEqual(['nullCompensation']);
      expect(await barrierRows('p-expected-null')).toHaveLength(2);
    } finally {
      users.restore();
    }
  });
});
