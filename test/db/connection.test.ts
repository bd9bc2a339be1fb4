import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(['barrier'], { poolSize: 1 });
});
afterAll(async () => {
  await database?.drop();
});

describe('openDatabase', () => {
  it('keeps a bounded set of prepared statements per connection, closing the ones it evicts', async () => {
    const connection = await database.pool.getConnection();
    try {
      const closedBefore = await sessionCounter(connection, 'Com_stmt_close');
      // 100 distinct statements on one connection: mysql2's default would keep all 100 prepared.
      for (let n = 0; n < 100; n++) {
        const [rows] = await connection.execute<RowDataPacket[]>(`SELECT ? + ${n} AS v`, [1]);
        expect(rows[0]?.v).toBe(n + 1);
      }
      const closed = (await sessionCounter(connection, 'Com_stmt_close')) - closedBefore;
      expect(closed).toBeGreaterThanOrEqual(100 - 64);
      // An evicted statement is prepared again when it is used again.
      const [rows] = await connection.execute<RowDataPacket[]>('SELECT ? + 0 AS v', [41]);
      expect(rows[0]?.v).toBe(41);
    } finally {
      connection.release();
    }
  });
});

async function sessionCounter(
  connection: { query: (sql: string) => Promise<[RowDataPacket[], unknown]> },
  name: string,
): Promise<number> {
  const [rows] = await connection.query(`SHOW SESSION STATUS LIKE '${name}'`);
  return Number(rows[0]?.Value ?? 0);
}
