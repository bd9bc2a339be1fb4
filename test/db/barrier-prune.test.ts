import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withBarrier } from '../../src/db/barrier.js';
import { pruneBarriers } from '../../src/db/barrier-prune.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(['barrier']);
});
afterAll(async () => {
  await database?.drop();
});

describe('pruneBarriers', () => {
  it('deletes rows older than the retention in batches and keeps newer ones', async () => {
    for (let i = 0; i < 25; i++) {
      await withBarrier(
        database.db,
        { transType: 'saga', gid: `old-${i}`, branchId: '01', op: 'action' },
        async () => {},
      );
    }
    await withBarrier(
      database.db,
      { transType: 'saga', gid: 'fresh', branchId: '01', op: 'action' },
      async () => {},
    );
    await database.pool.query(
      "UPDATE barrier SET create_time = NOW() - INTERVAL 8 DAY WHERE gid LIKE 'old-%'",
    );

    const deleted = await pruneBarriers(database.db, { olderThanMs: 7 * 86_400_000, batchSize: 10 });

    expect(deleted).toBe(25);
    const rows = await queryOnce(database.url, 'SELECT gid FROM barrier');
    expect(rows.map((row) => row.gid)).toEqual(['fresh']);
  });
});
