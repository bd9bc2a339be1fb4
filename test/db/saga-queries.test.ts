import { drizzle } from 'drizzle-orm/mysql2';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/connection.js';
import { createSagaQueries } from '../../src/db/saga-queries.js';
import type { SagaListFilter } from '../../src/domain/saga-queries.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
/** Every query the module sends, as sent, so the test can EXPLAIN exactly those. */
const issued: Array<{ sql: string; params: unknown[] }> = [];
let db: Db;
/** The minute the rows were seeded in (by the database clock); finish times are relative to it. */
let seedMinute = 0;

const MINUTE = 60_000;
// status, type, how many, created minutes ago (first), finished minutes ago (final ones)
const seeds = [
  { status: 'succeeded', type: 'register', count: 120, finishedAgo: 2 },
  { status: 'succeeded', type: 'register', count: 30, finishedAgo: 0 },
  { status: 'aborted', type: 'register', count: 20, finishedAgo: 2 },
  { status: 'succeeded', type: 'transfer', count: 40, finishedAgo: 30 }, // outside a 15-minute window
  { status: 'aborted', type: 'transfer', count: 10, finishedAgo: 5 },
  { status: 'pending', type: 'register', count: 6, finishedAgo: null },
  { status: 'compensating', type: 'transfer', count: 3, finishedAgo: null },
] as const;

beforeAll(async () => {
  database = await createTestDatabase(['saga']);
  db = drizzle({
    client: database.pool,
    logger: { logQuery: (sql, params) => issued.push({ sql, params }) },
  }) as unknown as Db;
  const [[clock]] = await database.pool.query<mysql.RowDataPacket[]>(
    'SELECT UNIX_TIMESTAMP(NOW(3)) * 1000 AS now',
  );
  const now = Number(clock?.now);
  // Minute-aligned "now" keeps every seeded finish time inside its intended bucket.
  const minuteStart = Math.floor(now / MINUTE) * MINUTE;
  seedMinute = minuteStart;
  const rows: unknown[][] = [];
  let n = 0;
  for (const seed of seeds) {
    for (let i = 0; i < seed.count; i++) {
      n++;
      const created = new Date(minuteStart - (60 - (n % 50)) * MINUTE + n);
      const finished =
        seed.finishedAgo === null ? null : new Date(minuteStart - seed.finishedAgo * MINUTE + (n % 50));
      rows.push([
        `g-${String(n).padStart(5, '0')}`,
        seed.type,
        1,
        seed.status,
        seed.status,
        '{}',
        '{}',
        `user-${n % 40}`,
        created,
        created,
        finished,
      ]);
    }
  }
  await database.pool.query(
    'INSERT INTO saga (gid, type, machine_version, status, state, progress, input, subject, created_at, updated_at, finished_at) VALUES ?',
    [rows],
  );
  // What the coordinators that finished these sagas added to the per-minute counts.
  await database.pool.query(
    "INSERT INTO saga_finished_minute (minute, type, status, owner, count) SELECT FROM_UNIXTIME(FLOOR(UNIX_TIMESTAMP(finished_at) / 60) * 60), type, status, 'seed', COUNT(*) FROM saga WHERE finished_at IS NOT NULL GROUP BY 1, 2, 3",
  );
  // The oldest running saga, by far.
  await database.pool.query(
    "UPDATE saga SET created_at = NOW(3) - INTERVAL 3 HOUR WHERE gid = (SELECT gid FROM (SELECT gid FROM saga WHERE status = 'compensating' ORDER BY gid LIMIT 1) AS pick)",
  );
});

afterAll(async () => {
  await database?.drop();
});

describe('saga queries', () => {
  it('serve every listing and the stats from an index, with no full scan and no sort', async () => {
    const queries = createSagaQueries(db);
    const after = { createdAt: new Date(Date.now() - 30 * MINUTE), gid: 'g-00100' };
    const since = new Date(Date.now() - 45 * MINUTE);
    const filters: Array<Omit<SagaListFilter, 'limit'>> = [
      {},
      { status: 'aborted' },
      { type: 'transfer' },
      { status: 'succeeded', type: 'register' },
      { q: 'g-00007' },
      { q: 'user-7' },
      { q: 'user-7', status: 'succeeded' },
      { since },
      { status: 'pending', since },
    ];
    issued.length = 0;
    for (const filter of filters) {
      await queries.list({ ...filter, limit: 50 });
      await queries.list({ ...filter, after, limit: 50 });
    }
    await queries.stats(15);
    await queries.unfinishedOlderThan(30 * MINUTE, 5_001);
    await queries.latestForSubject('register', 'user-7', new Date());

    const onSaga = issued.filter((query) => /\bfrom `saga`/i.test(query.sql));
    expect(onSaga.length).toBeGreaterThanOrEqual(filters.length * 2 + 5);
    for (const query of onSaga) {
      const [plan] = await database.pool.query<mysql.RowDataPacket[]>(`EXPLAIN ${query.sql}`, query.params);
      // A primary-key probe that finds nothing is answered from the index before planning the rest.
      if (
        plan.length === 1 &&
        /after reading const tables|no matching row in const table/i.test(plan[0]?.Extra)
      ) {
        expect(query.sql).toMatch(/where \(?`saga`\.`gid` = \?/);
        continue;
      }
      const sagaRows = plan.filter((row) => row.table === 'saga');
      expect(sagaRows.length, `${query.sql}\n${JSON.stringify(plan)}`).toBeGreaterThan(0);
      for (const row of sagaRows) {
        const where = `${query.sql}\n${JSON.stringify(row)}`;
        expect(row.type, where).not.toBe('ALL');
        expect(row.key, where).toBeTruthy();
        expect(String(row.Extra ?? ''), where).not.toMatch(/filesort/i);
        if (process.env.SHOW_PLANS) console.log(row.type, row.key, row.rows, row.Extra, query.sql.slice(180));
      }
    }
  });

  it('counts by status and type, finds the oldest running saga and buckets finished ones per minute', async () => {
    const stats = await createSagaQueries(db).stats(15);
    const expected = new Map<string, number>();
    for (const seed of seeds) {
      const key = `${seed.status}/${seed.type}`;
      expected.set(key, (expected.get(key) ?? 0) + seed.count);
    }
    expect(new Map(stats.counts.map((row) => [`${row.status}/${row.type}`, row.count]))).toEqual(expected);

    expect(stats.oldestActive).toMatchObject({ status: 'compensating', type: 'transfer' });
    expect(stats.now.getTime() - (stats.oldestActive?.createdAt.getTime() ?? 0)).toBeGreaterThanOrEqual(
      3 * 60 * MINUTE - 1_000,
    );

    expect(stats.throughput).toHaveLength(15);
    const nowMinute = Math.floor(stats.now.getTime() / MINUTE) * MINUTE;
    expect(stats.throughput[14]?.minute.getTime()).toBe(nowMinute);
    const bucket = (ago: number) =>
      stats.throughput.find((b) => b.minute.getTime() === seedMinute - ago * MINUTE);
    expect(bucket(0)).toMatchObject({ succeeded: 30, aborted: 0 });
    expect(bucket(2)).toMatchObject({ succeeded: 120, aborted: 20 });
    expect(bucket(5)).toMatchObject({ succeeded: 0, aborted: 10 });
    const total = stats.throughput.reduce((sum, b) => sum + b.succeeded + b.aborted, 0);
    expect(total).toBe(30 + 120 + 20 + 10);
  });

  it('lists the unfinished sagas older than an age by the database clock, oldest first, up to a limit', async () => {
    const queries = createSagaQueries(db);
    const unfinished = 6 + 3;

    const all = await queries.unfinishedOlderThan(0, 100);
    expect(all.sagas).toHaveLength(unfinished);
    const times = all.sagas.map((saga) => saga.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const statuses = await database.pool.query<mysql.RowDataPacket[]>(
      'SELECT DISTINCT status FROM saga WHERE gid IN (?)',
      [all.sagas.map((saga) => saga.gid)],
    );
    expect(statuses[0].map((row) => row.status).sort()).toEqual(['compensating', 'pending']);

    const old = await queries.unfinishedOlderThan(2 * 60 * MINUTE, 100);
    expect(old.sagas).toEqual([all.sagas[0]]);
    expect(old.now.getTime() - (old.sagas[0]?.createdAt.getTime() ?? 0)).toBeGreaterThanOrEqual(
      3 * 60 * MINUTE - 1_000,
    );

    expect((await queries.unfinishedOlderThan(0, 4)).sagas).toEqual(all.sagas.slice(0, 4));
  });

  it("finds a subject's newest saga of a type created no later than a given time", async () => {
    const at = new Date(Date.now() - 10 * MINUTE);
    const row = (gid: string, type: string, status: string, created: Date) => [
      gid,
      type,
      1,
      status,
      status,
      '{}',
      '{}',
      'account-1',
      created,
      created,
    ];
    await database.pool.query(
      'INSERT INTO saga (gid, type, machine_version, status, state, progress, input, subject, created_at, updated_at) VALUES ?',
      [
        [
          row('acct-old', 'register', 'aborted', new Date(at.getTime() - 60_000)),
          row('acct-creator', 'register', 'succeeded', new Date(at.getTime() - 5)),
          row('acct-other-type', 'transfer', 'succeeded', new Date(at.getTime() - 1)),
          row('acct-later', 'register', 'aborted', new Date(at.getTime() + 5_000)),
        ],
      ],
    );
    const queries = createSagaQueries(db);
    expect(await queries.latestForSubject('register', 'account-1', at)).toMatchObject({
      gid: 'acct-creator',
      status: 'succeeded',
      subject: 'account-1',
    });
    expect(
      (await queries.latestForSubject('register', 'account-1', new Date(at.getTime() - 30_000)))?.gid,
    ).toBe('acct-old');
    expect(
      await queries.latestForSubject('register', 'account-1', new Date(at.getTime() - 120_000)),
    ).toBeUndefined();
    expect(await queries.latestForSubject('register', 'account-2', at)).toBeUndefined();
  });
});
