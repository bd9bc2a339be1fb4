import mysql from 'mysql2/promise';
import { migrateDatabase } from '../../src/db/migrate.js';
import type { MigrationSetName } from '../../src/db/migration-sets.js';

export const SERVER_URL = process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/';

/** A fresh database on the bench server with the given schema sets; `drop()` removes it. */
export async function benchDatabase(name: string, sets: readonly MigrationSetName[]) {
  const url = new URL(name, SERVER_URL).toString();
  await dropDatabase(name);
  await migrateDatabase(url, [...sets]);
  return { url, name, drop: () => dropDatabase(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: SERVER_URL });
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
  } finally {
    await connection.end();
  }
}

/** Rows in a table, to check a scenario did what it claims. */
export async function countRows(url: string, table: string, where = '1=1'): Promise<number> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${connection.escapeId(table)} WHERE ${where}`,
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await connection.end();
  }
}

export async function serverInfo(): Promise<{ version: string; settings: Record<string, string> }> {
  const connection = await mysql.createConnection({ uri: SERVER_URL });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT @@version AS version, @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS syncBinlog, @@log_bin AS logBin, @@innodb_buffer_pool_size AS bufferPool',
    );
    const row: Record<string, unknown> = rows[0] ?? {};
    return {
      version: String(row.version),
      settings: {
        innodb_flush_log_at_trx_commit: String(row.flush),
        sync_binlog: String(row.syncBinlog),
        log_bin: String(row.logBin),
        innodb_buffer_pool_size: String(row.bufferPool),
      },
    };
  } finally {
    await connection.end();
  }
}
