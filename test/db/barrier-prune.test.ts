import { setTimeout as sleep } from 'node:timers/promises';
import { drizzle } from 'drizzle-orm/mysql2';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withBarrier } from '../../src/db/barrier.js';
import { createBarrierTable, type PruneTarget, pruneBarriers } from '../../src/db/barrier-prune.js';
import type { Db } from '../../src/db/connection.js';
import { createSagaQueries } from '../../src/db/saga-queries.js';
import { checkInvariant, sameDatabase } from '../chaos/invariant.js';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

const DAY = 86_400_000;
const RETENTION = 7 * DAY;

let database: TestDatabase;
let target: PruneTarget;
const logged: Array<{ level: string; fields: object; message: string }> = [];
const log = {
  info: (fields: object, message: string) => logged.push({ level: 'info', fields, message }),
  warn: (fields: object, message: string) => logged.push({ level: 'warn', fields, message }),
};

beforeAll(async () => {
  // The monolith: the saga log and the barrier table in one database.
  database = await createTestDatabase(['saga', 'barrier']);
  target = { name: 'monolith', table: createBarrierTable(database.db) };
});
afterAll(async () => {
  await database?.drop();
});
beforeEach(async () => {
  await database.pool.query('DELETE FROM barrier');
  await database.pool.query('DELETE FROM saga');
  logged.length = 0;
});

/** A saga row as the coordinator leaves it, created `daysAgo` days ago by the database's clock. */
async function seedSagas(rows: Array<{ gid: string; status: string; daysAgo: number }>) {
  await database.pool.query(
    'INSERT INTO saga (gid, type, machine_version, status, state, progress, input, created_at, updated_at, finished_at) VALUES ?',
    [
      rows.map(({ gid, status, daysAgo }) => {
        const created = new Date(Date.now() - daysAgo * DAY);
        const final = status === 'succeeded' || status === 'aborted';
        return [gid, 'register', 1, status, status, '{}', '{}', created, created, final ? created : null];
      }),
    ],
  );
}

/** A branch's barrier rows, written by the real barrier, then dated `daysAgo` days back. */
async function seedBarrier(gid: string, daysAgo: number, op: 'action' | 'compensate' = 'action') {
  await withBarrier(database.db, { transType: 'saga', gid, branchId: '01', op }, async () => {});
  await database.pool.query(
    'UPDATE barrier SET create_time = NOW() - INTERVAL ? SECOND, update_time = create_time WHERE gid = ?',
    [Math.round((daysAgo * DAY) / 1000), gid],
  );
}

async function barrierRows(): Promise<string[]> {
  const rows = await queryOnce(database.url, 'SELECT gid, op FROM barrier ORDER BY gid, op');
  return rows.map((row) => `${row.gid}/${row.op}`);
}

describe('pruneBarriers over the monolith database', () => {
  it('keeps the rows of sagas still compensating or pending past the retention, and prunes the rest by age', async () => {
    await seedSagas([
      { gid: 'compensating-8d', status: 'compensating', daysAgo: 8 },
      { gid: 'pending-8d', status: 'pending', daysAgo: 8 },
      { gid: 'aborted-8d', status: 'aborted', daysAgo: 8 },
      { gid: 'succeeded-8d', status: 'succeeded', daysAgo: 8 },
      { gid: 'succeeded-1d', status: 'succeeded', daysAgo: 1 },
    ]);
    // A saga compensating for a week: its action's row, and its compensation's origin claim not yet made.
    await seedBarrier('compensating-8d', 8);
    await seedBarrier('pending-8d', 8);
    await seedBarrier('aborted-8d', 8);
    await seedBarrier('aborted-8d', 8, 'compensate');
    await seedBarrier('succeeded-8d', 8);
    await seedBarrier('succeeded-1d', 1);
    // Gids the log does not know (a DTM server driving the services): by age alone.
    await seedBarrier('dtm-unknown-8d', 8);
    await seedBarrier('dtm-unknown-6d', 6);

    const deleted = await pruneBarriers(
      createSagaQueries(database.db),
      [target],
      { retentionMs: RETENTION, batchSize: 2 },
      log,
    );

    // aborted-8d: action + compensate; succeeded-8d: action; dtm-unknown-8d: action.
    expect(deleted.get('monolith')).toBe(4);
    expect(await barrierRows()).toEqual([
      'compensating-8d/action',
      'dtm-unknown-6d/action',
      'pending-8d/action',
      'succeeded-1d/action',
    ]);
  });

  it('lets the rows of a saga go once it is final', async () => {
    await seedSagas([{ gid: 'was-stuck', status: 'compensating', daysAgo: 9 }]);
    await seedBarrier('was-stuck', 9);
    const queries = createSagaQueries(database.db);
    await pruneBarriers(queries, [target], { retentionMs: RETENTION }, log);
    expect(await barrierRows()).toEqual(['was-stuck/action']);

    await database.pool.query(
      "UPDATE saga SET status = 'aborted', finished_at = NOW(3) WHERE gid = 'was-stuck'",
    );
    await pruneBarriers(queries, [target], { retentionMs: RETENTION }, log);
    expect(await barrierRows()).toEqual([]);
  });

  it('keeps every row newer than the oldest unfinished saga when more than 5,000 are past the retention, and names it', async () => {
    const many = Array.from({ length: 5_000 }, (_, i) => ({
      gid: `pending-9d-${String(i).padStart(4, '0')}`,
      status: 'pending',
      daysAgo: 9,
    }));
    await seedSagas([{ gid: 'oldest-12d', status: 'compensating', daysAgo: 12 }, ...many]);
    await seedBarrier('oldest-12d', 12);
    await seedBarrier('pending-9d-0042', 9);
    // Unknown to the log, past the retention, but newer than the oldest unfinished saga: kept this time.
    await seedBarrier('dtm-unknown-10d', 10);
    // Older than the oldest unfinished saga less the margin: no unfinished saga can own it.
    await seedBarrier('dtm-unknown-13d', 13);

    const deleted = await pruneBarriers(
      createSagaQueries(database.db),
      [target],
      { retentionMs: RETENTION },
      log,
    );

    expect(deleted.get('monolith')).toBe(1);
    expect(await barrierRows()).toEqual([
      'dtm-unknown-10d/action',
      'oldest-12d/action',
      'pending-9d-0042/action',
    ]);
    const warning = logged.find((entry) => entry.level === 'warn');
    expect(warning?.message).toContain('oldest-12d');
    expect(warning?.fields).toMatchObject({ gid: 'oldest-12d' });
  });

  it('deletes through the create_time index, the gids kept bound as values', async () => {
    const issued: Array<{ sql: string; params: unknown[] }> = [];
    const logging = drizzle({
      client: database.pool,
      logger: { logQuery: (sql, params) => issued.push({ sql, params }) },
    }) as unknown as Db;
    await seedSagas([{ gid: "it's-stuck", status: 'compensating', daysAgo: 8 }]);
    await seedBarrier("it's-stuck", 8);
    await seedBarrier('other', 8);

    await pruneBarriers(
      createSagaQueries(logging),
      [{ name: 'monolith', table: createBarrierTable(logging) }],
      { retentionMs: RETENTION },
      log,
    );

    expect(await barrierRows()).toEqual(["it's-stuck/action"]);
    const deletes = issued.filter((query) => /^delete/i.test(query.sql));
    expect(deletes.length).toBeGreaterThan(0);
    for (const query of deletes) {
      expect(query.sql).not.toContain("it's-stuck");
      expect(query.params).toContain("it's-stuck");
      const [plan] = await database.pool.query<mysql.RowDataPacket[]>(`EXPLAIN ${query.sql}`, query.params);
      expect(plan[0], JSON.stringify(plan)).toMatchObject({ table: 'barrier', key: 'create_time' });
    }
  });
});

describe('a compensation delayed past the retention, in the running service', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({
      // The user service answers its compensation 4 s late, time for the pruner to pass in between.
      FAULTS: 'user.saveUserCallback=delay:4s',
      BARRIER_PRUNE_INTERVAL: '100ms',
      BARRIER_RETENTION: '7d',
      REGISTER_WAIT_MS: '0',
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('still finds its action row, deletes the user row and leaves the invariant whole', async () => {
    const url = service.database.url;
    const registered = await call(service.url, 'POST', '/register', {
      body: { id: 77, name: 'Late', gender: 'x', score: 10 },
    });
    expect(registered.status).toBe(202);
    const gid = registered.body.gid as string;
    const statusOf = async () =>
      String((await queryOnce(url, 'SELECT status FROM saga WHERE gid = ?', [gid]))[0]?.status);
    for (let i = 0; i < 100 && (await statusOf()) !== 'compensating'; i++) await sleep(20);
    expect(await statusOf()).toBe('compensating');

    // A week passes while the compensation waits: the saga, its rows, and a DTM row of another gid.
    await queryOnce(url, 'UPDATE saga SET created_at = NOW(3) - INTERVAL 8 DAY WHERE gid = ?', [gid]);
    await queryOnce(url, 'UPDATE barrier SET create_time = NOW() - INTERVAL 8 DAY WHERE gid = ?', [gid]);
    await queryOnce(
      url,
      "INSERT INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason, create_time) VALUES ('saga', 'dtm-canary', '01', 'action', '01', 'action', NOW() - INTERVAL 8 DAY)",
    );
    const canary = async () =>
      Number((await queryOnce(url, "SELECT COUNT(*) AS n FROM barrier WHERE gid = 'dtm-canary'"))[0]?.n);
    for (let i = 0; i < 150 && (await canary()) > 0; i++) await sleep(20);
    expect(await canary(), 'the pruner ran').toBe(0);
    expect(await statusOf(), 'the pruner ran while the compensation waited').toBe('compensating');

    for (let i = 0; i < 300 && (await statusOf()) === 'compensating'; i++) await sleep(50);
    expect(await statusOf()).toBe('aborted');
    const users = await queryOnce(url, 'SELECT COUNT(*) AS n FROM user WHERE id = 77');
    expect(Number(users[0]?.n)).toBe(0);
    const saga = await call(service.url, 'GET', `/sagas/${gid}`, {
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    const undo = (saga.body.timeline as Array<{ step: string; op: string; barrier: string }>).find(
      (entry) => entry.step === 'saveUserCallback' && entry.op === 'compensate',
    );
    expect(undo?.barrier).toBe('done');
    expect((await checkInvariant(sameDatabase(url))).violations).toEqual([]);
  });
});
