// The saga-core issue asks: can drizzle's prepared queries replace the hand-written SQL of the hot path
// (barrier and business rows)? This runs a registration's two branch transactions (barrier row, business
// row, COMMIT, twice) three ways, side by side in rounds, in one process at C = 32:
//   execute        the hand-written SQL through mysql2's execute (server-side prepared statements), as today;
//   drizzle        drizzle's `.prepare()` with `sql.placeholder`, prepared once per pooled connection;
//   schema-execute the SQL text drizzle builds from the schema once (`toSQL()`), run through execute.
// `npx tsx bench/experiments/drizzle-prepared.ts [--seconds 6] [--rounds 3]`; prints done/s and CPU ms/op.
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/mysql2';
import mysql, { type PoolConnection } from 'mysql2/promise';
import { connectionOptions } from '../../src/db/connection.js';
import { barrier } from '../../src/db/schema/barrier.js';
import { userScores } from '../../src/db/schema/score.js';
import { users } from '../../src/db/schema/user.js';
import { benchDatabase } from '../lib/bench-db.js';
import { runClosedLoop } from '../lib/closed-loop.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, rounds: { type: 'string' } } });
const seconds = Number(values.seconds ?? 6);
const rounds = Number(values.rounds ?? 3);
const database = await benchDatabase('bench_drizzle_prepared', ['user', 'score', 'barrier']);
const pool = mysql.createPool({ ...connectionOptions(database.url), connectionLimit: 16 });
pool.pool.on('connection', (connection) => {
  connection.query("SET time_zone = '+00:00', autocommit = 0", () => {});
});

type Branch = (connection: PoolConnection, gid: string, branchId: string, id: number) => Promise<void>;

const handWritten = {
  barrier:
    "INSERT IGNORE INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason) VALUES ('saga', ?, ?, 'action', '01', 'action')",
  user: 'INSERT INTO user (id, name, gender, password_hash) VALUES (?, ?, ?, NULL)',
  score: 'INSERT INTO user_score (user_id, score) VALUES (?, ?)',
};

const mock = drizzle.mock();
const placeholders = {
  barrier: mock
    .insert(barrier)
    .ignore()
    .values({
      transType: 'saga',
      gid: sql.placeholder('gid'),
      branchId: sql.placeholder('branchId'),
      op: 'action',
      barrierId: '01',
      reason: 'action',
    }),
  user: mock.insert(users).values({
    id: sql.placeholder('id'),
    name: sql.placeholder('name'),
    gender: sql.placeholder('gender'),
    passwordHash: null,
  }),
  score: mock.insert(userScores).values({ userId: sql.placeholder('id'), score: sql.placeholder('score') }),
};
const fromSchema = {
  barrier: placeholders.barrier.toSQL().sql,
  user: placeholders.user.toSQL().sql,
  score: placeholders.score.toSQL().sql,
};
console.log('SQL built from the schema:', fromSchema);

function executeWith(text: typeof handWritten): Branch {
  return async (connection, gid, branchId, id) => {
    // The schema-built statements bind every value, constants included (see the printed SQL).
    const barrierValues = text === handWritten ? [gid, branchId] : ['saga', gid, branchId, 'action', '01', 'action'];
    await connection.execute(text.barrier, barrierValues);
    const userValues = text === handWritten ? [id, `user ${id}`, 'female'] : [id, `user ${id}`, 'female', null];
    if (branchId === '01') await connection.execute(text.user, userValues);
    else await connection.execute(text.score, [id, 5]);
  };
}

const preparedByConnection = new WeakMap<PoolConnection, ReturnType<typeof prepare>>();
function prepare(connection: PoolConnection) {
  const db = drizzle({ client: connection });
  return {
    barrier: db
      .insert(barrier)
      .ignore()
      .values({
        transType: 'saga',
        gid: sql.placeholder('gid'),
        branchId: sql.placeholder('branchId'),
        op: 'action',
        barrierId: '01',
        reason: 'action',
      })
      .prepare(),
    user: db
      .insert(users)
      .values({ id: sql.placeholder('id'), name: sql.placeholder('name'), gender: sql.placeholder('gender') })
      .prepare(),
    score: db.insert(userScores).values({ userId: sql.placeholder('id'), score: sql.placeholder('score') }).prepare(),
  };
}
const drizzlePrepared: Branch = async (connection, gid, branchId, id) => {
  let prepared = preparedByConnection.get(connection);
  if (!prepared) {
    prepared = prepare(connection);
    preparedByConnection.set(connection, prepared);
  }
  await prepared.barrier.execute({ gid, branchId });
  if (branchId === '01') await prepared.user.execute({ id, name: `user ${id}`, gender: 'female' });
  else await prepared.score.execute({ id, score: 5 });
};

const variants: Record<string, Branch> = {
  execute: executeWith(handWritten),
  drizzle: drizzlePrepared,
  'schema-execute': executeWith(fromSchema),
};

let nextId = 0;
async function registration(branch: Branch) {
  const id = ++nextId;
  const gid = `g${id}`;
  for (const branchId of ['01', '02']) {
    const connection = await pool.getConnection();
    try {
      await branch(connection, gid, branchId, id);
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  }
}

const totals: Record<string, { done: number; seconds: number; cpuMs: number; errors: number }> = {};
for (let round = 1; round <= rounds; round++) {
  // A different order each round, so no variant always runs first.
  const order = Object.keys(variants).sort(() => Math.random() - 0.5);
  for (const name of order) {
    let cpuAtStart = process.cpuUsage();
    let cpuMs = 0;
    const result = await runClosedLoop(
      { concurrency: 32, warmupMs: 1_000, durationMs: seconds * 1_000 },
      () => registration(variants[name] as Branch),
      {
        onMeasureStart: () => {
          cpuAtStart = process.cpuUsage();
        },
        onMeasureEnd: () => {
          const used = process.cpuUsage(cpuAtStart);
          cpuMs = (used.user + used.system) / 1_000;
        },
      },
    );
    const total = (totals[name] ??= { done: 0, seconds: 0, cpuMs: 0, errors: 0 });
    total.done += result.completed;
    total.seconds += result.seconds;
    total.cpuMs += cpuMs;
    total.errors += result.errors;
    console.log(
      `round ${round} ${name.padEnd(14)} ${result.completedPerSec.toFixed(0).padStart(6)}/s  errors ${result.errors}`,
    );
  }
}
console.log('\nvariant         done/s  vs execute  node CPU ms/op  errors');
const reference = (totals.execute?.done ?? 1) / (totals.execute?.seconds ?? 1);
for (const [name, total] of Object.entries(totals)) {
  const rate = total.done / total.seconds;
  console.log(
    `${name.padEnd(14)} ${rate.toFixed(0).padStart(7)}  ${(rate / reference).toFixed(2).padStart(10)}  ${(total.cpuMs / total.done).toFixed(3).padStart(14)}  ${total.errors}`,
  );
}
await pool.end();
await database.drop();
