// One in-process scenario in its own process (so runs do not share a heap or a JIT), result sent to the
// parent over IPC. Scenarios: baseline, baseline-packed, log-floor, ride-floor, engine, abort. See bench/run.ts.
import mysql from 'mysql2/promise';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { connectionOptions, openDatabase } from '../src/db/connection.js';
import { createSagaLog } from '../src/db/saga-log.js';
import { newGid } from '../src/machines/gid.js';
import type { RegisterInput } from '../src/machines/register-saga.js';
import type { SagaCoordinator } from '../src/machines/runtime/saga-coordinator.js';
import { runClosedLoop } from './lib/closed-loop.js';
import { JWT_SECRET } from './lib/services.js';

interface WorkerArgs {
  readonly scenario: 'baseline' | 'baseline-packed' | 'log-floor' | 'ride-floor' | 'engine' | 'abort';
  readonly databaseUrl: string;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly poolSize: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerArgs;
const send = (message: unknown) => process.send?.(message);

function registerInput(n: number, score: number): RegisterInput {
  return {
    user: { id: n + 1, name: `user ${n + 1}`, gender: n % 2 ? 'female' : 'male' },
    score,
    sealedPasswordHash: null,
  };
}

/** The statements of a registration's two branch transactions, as the service's branches send them. */
const BRANCH_SQL = {
  barrier:
    "INSERT IGNORE INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason) VALUES ('saga', ?, ?, 'action', '01', 'action')",
  user: 'INSERT INTO user (id, name, gender, password_hash) VALUES (?, ?, ?, NULL)',
  score: 'INSERT INTO user_score (user_id, score) VALUES (?, ?)',
};

/** A pool of connections with autocommit off: the first statement opens the transaction. */
function autocommitOffPool(databaseUrl: string, options: mysql.PoolOptions = {}) {
  const pool = mysql.createPool({
    ...connectionOptions(databaseUrl),
    connectionLimit: args.poolSize,
    ...options,
  });
  pool.pool.on('connection', (connection) => {
    connection.query("SET time_zone = '+00:00', autocommit = 0", () => {});
  });
  return pool;
}

/**
 * Each registration's two branch transactions (barrier row + business row) straight over mysql2, with
 * the client techniques the service's own branches use, so the ratio measures the saga engine and not
 * a slower client: connections with autocommit off (the first statement opens the transaction, no
 * START TRANSACTION round trip), prepared statements, no stack capture per query (connectionOptions).
 */
function branchTransactions(databaseUrl: string) {
  const pool = autocommitOffPool(databaseUrl);
  const branch = async (gid: string, branchId: string, sql: string, values: (string | number)[]) => {
    const connection = await pool.getConnection();
    try {
      await connection.execute(BRANCH_SQL.barrier, [gid, branchId]);
      await connection.execute(sql, values);
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  };
  const registration = (gid: string, id: number) =>
    branch(gid, '01', BRANCH_SQL.user, [id, `user ${id}`, 'female']).then(() =>
      branch(gid, '02', BRANCH_SQL.score, [id, 5]),
    );
  return { registration, end: () => pool.end() };
}

/**
 * The same two branch transactions, each sent in one packet: barrier row, business row and COMMIT as
 * one multi-statement text query (mysql2's `multipleStatements`), so a transaction costs one round trip
 * instead of three. The values go through mysql2's placeholders (escaped by the driver as it builds
 * the packet), never pasted into the SQL by us; a multi-statement query cannot be a server-side prepared
 * statement. Like `baseline`, it does not look at the barrier insert's result before the business row.
 * If a statement fails, the server runs none after it (the COMMIT included) and we roll back. This is the
 * floor an engine that packs its branches' statements can be held to (issue 13); `baseline` stays what
 * a user would write without us.
 */
function packedBranchTransactions(databaseUrl: string) {
  const pool = autocommitOffPool(databaseUrl, { multipleStatements: true });
  const userBranch = `${BRANCH_SQL.barrier}; ${BRANCH_SQL.user}; COMMIT`;
  const scoreBranch = `${BRANCH_SQL.barrier}; ${BRANCH_SQL.score}; COMMIT`;
  const branch = async (sql: string, values: (string | number)[]) => {
    const connection = await pool.getConnection();
    try {
      await connection.query(sql, values);
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  };
  const registration = (gid: string, id: number) =>
    branch(userBranch, [gid, '01', id, `user ${id}`, 'female']).then(() =>
      branch(scoreBranch, [gid, '02', id, 5]),
    );
  return { registration, end: () => pool.end() };
}

/** The floor set by the database: the branch transactions alone, no coordinator. */
async function baseline(branches: ReturnType<typeof branchTransactions>) {
  const result = await measure((n) => branches.registration(newGid(), n + 1));
  await branches.end();
  return result;
}

/**
 * The baseline plus the saga log's own two writes as the engine makes them (its row before the
 * branches, its end after, through createSagaLog with a snapshot of the real size), but no actor and no
 * coordinator: the floor for any log kept in statements of its own, and so for the engine.
 */
async function logFloor() {
  const branches = branchTransactions(args.databaseUrl);
  const database = openDatabase(args.databaseUrl, { poolSize: args.poolSize });
  const log = createSagaLog(database.db);
  const result = await measure(async (n) => {
    const gid = newGid();
    const input = registerInput(n, 5);
    const progress = floorProgress(gid, input);
    const created = await log.create({
      gid,
      type: 'register',
      machineVersion: 1,
      input,
      requestFingerprint: null,
      traceContext: null,
      subject: String(input.user.id),
      owner: 'bench',
      leaseMs: 30_000,
      ...progress,
    });
    if (created !== 'created') throw new Error('gid taken');
    await branches.registration(gid, input.user.id);
    const saved = await log.save(
      gid,
      { owner: 'bench', generation: 1 },
      { ...progress, status: 'succeeded', state: 'scoreSaved' },
    );
    if (!saved) throw new Error('saga row not saved');
  });
  await database.close();
  await branches.end();
  return result;
}

/**
 * The engine's own statements with no engine: each branch transaction sent as the monolith's branches
 * send it (db/barrier.ts, inOnePacket), one packet with the barrier row, the business row and the saga
 * log's ride (its row created with the first branch, its end written with the second), then COMMIT.
 * The saga row's statements and values come from the saga log itself (createWithin and saveWithin,
 * recorded rather than sent), so they follow it. What the engine runs slower than this is its own CPU:
 * the actor, the coordinator, the step calls (bench/experiments/runtime-in-memory.ts measures that part
 * alone). This is the floor of the riding design, as log-floor is the floor of a log kept apart.
 */
async function rideFloor() {
  const pool = autocommitOffPool(args.databaseUrl, { multipleStatements: true });
  // The saga log only builds the statements here (recorded, not sent); its pool stays idle.
  const database = openDatabase(args.databaseUrl, { poolSize: 1 });
  const log = createSagaLog(database.db);
  const lease = { owner: 'bench', generation: 1 };
  const recorded = async (write: (transaction: unknown) => Promise<void>) => {
    const statements: { sql: string; values: unknown[] }[] = [];
    const execute = (sql: string, values: unknown[]) => {
      statements.push({ sql, values });
      return Promise.resolve([{ affectedRows: 1 }, []]);
    };
    await write({ $client: { execute } });
    return statements;
  };
  const branch = async (sql: string[], values: unknown[], ridingUpdate: boolean) => {
    const connection = await pool.getConnection();
    try {
      const [results] = await connection.query<mysql.ResultSetHeader[]>(sql.join('; '), values);
      if (results[0]?.affectedRows !== 1) throw new Error('barrier row not new');
      if (ridingUpdate && results[2]?.affectedRows !== 1) throw new Error('saga row not updated');
      await connection.query('COMMIT');
    } catch (error) {
      await connection.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      connection.release();
    }
  };
  const result = await measure(async (n) => {
    const gid = newGid();
    const input = registerInput(n, 5);
    const progress = floorProgress(gid, input);
    const [created] = await recorded((tx) =>
      log.createWithin(tx, {
        gid,
        type: 'register',
        machineVersion: 1,
        input,
        requestFingerprint: null,
        subject: String(input.user.id),
        traceContext: null,
        owner: lease.owner,
        leaseMs: 30_000,
        ...progress,
      }),
    );
    const [ended] = await recorded((tx) =>
      log.saveWithin(tx, gid, lease, { ...progress, status: 'succeeded', state: 'scoreSaved' }),
    );
    if (created === undefined || ended === undefined) throw new Error('the saga log wrote nothing');
    const { id, name, gender } = input.user;
    await branch(
      [BRANCH_SQL.barrier, created.sql, BRANCH_SQL.user],
      [gid, '01', ...created.values, id, name, gender],
      false,
    );
    await branch(
      [BRANCH_SQL.barrier, BRANCH_SQL.score, ended.sql],
      [gid, '02', id, 5, ...ended.values],
      true,
    );
  });
  await pool.end();
  await database.close();
  return result;
}

/** A saga-log move the size and shape of a clean register saga's (the slim row: no timeline). */
function floorProgress(_gid: string, input: RegisterInput) {
  // Nulls left out, as progressRecordOf writes them.
  const step = { op: 'action' as const, status: 'succeeded' as const, attempts: 1, startedAt: Date.now() };
  return {
    status: 'pending' as const,
    state: 'userSaved.calling',
    progress: {
      deadline: Date.now() + 30_000,
      retry: { baseMs: 100, factor: 2, maxMs: 10_000 },
      results: { saveUser: input.user },
      steps: { saveUser: step, saveUserScore: { ...step, status: 'running' as const, attempts: 0 } },
    },
    detail: null,
  };
}

async function withEngine<T>(run: (coordinator: SagaCoordinator) => Promise<T>): Promise<T> {
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: JWT_SECRET,
    ROLES: 'api',
    DATABASE_URL: args.databaseUrl,
    DB_POOL_SIZE: String(args.poolSize),
    PORT: '0',
  });
  // Logs as shipped (info, JSON), written where a service writes them; the parent discards stdout.
  const logger = pino({ level: config.log.level });
  const app = await buildApp(config, logger);
  try {
    return await run(app.coordinator as SagaCoordinator);
  } finally {
    await app.close();
  }
}

async function runSaga(coordinator: SagaCoordinator, n: number, score: number, expect: string) {
  const begun = await coordinator.begin('register', newGid(), registerInput(n, score));
  if (!begun.created) throw new Error('gid taken');
  const result = await begun.result;
  if (result.status !== expect) throw new Error(`saga ${result.status}, expected ${expect}`);
}

function measure(operation: (n: number) => Promise<void>) {
  let cpuStart = process.cpuUsage();
  let cpu = 0;
  return runClosedLoop(
    { concurrency: args.concurrency, warmupMs: args.warmupMs, durationMs: args.durationMs },
    operation,
    {
      onMeasureStart: () => {
        cpuStart = process.cpuUsage();
        send({ phase: 'start' });
      },
      onMeasureEnd: () => {
        send({ phase: 'end' });
        const used = process.cpuUsage(cpuStart);
        cpu = (used.user + used.system) / 1e6;
      },
    },
  ).then((loop) => ({ ...loop, cpuSeconds: cpu, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

async function main() {
  switch (args.scenario) {
    case 'baseline':
      return baseline(branchTransactions(args.databaseUrl));
    case 'baseline-packed':
      return baseline(packedBranchTransactions(args.databaseUrl));
    case 'log-floor':
      return logFloor();
    case 'ride-floor':
      return rideFloor();
    case 'engine':
      return withEngine((coordinator) => measure((n) => runSaga(coordinator, n, 5, 'succeeded')));
    case 'abort':
      return withEngine((coordinator) => measure((n) => runSaga(coordinator, n, 10, 'aborted')));
  }
}

main().then(
  (result) => {
    send({ ok: true, result });
    process.disconnect?.();
    setTimeout(() => process.exit(0), 100).unref();
  },
  (error: unknown) => {
    send({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.disconnect?.();
    setTimeout(() => process.exit(1), 100).unref();
  },
);
