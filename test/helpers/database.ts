import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { inject } from 'vitest';
import { type Database, openDatabase } from '../../src/db/connection.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { type MigrationSetName, migrationSetNames } from '../../src/db/migration-sets.js';

/** The server tests use, found (or started) by global-setup.ts. */
export const TEST_SERVER_URL = inject('databaseServerUrl');

export interface TestDatabase extends Database {
  readonly url: string;
  readonly name: string;
  /** Drops the database and closes the pool. */
  drop(): Promise<void>;
}

/** A fresh database with the given schema sets migrated, private to one test file. */
export async function createTestDatabase(
  sets: readonly MigrationSetName[] = migrationSetNames,
  options: { poolSize?: number } = {},
): Promise<TestDatabase> {
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const url = new URL(name, TEST_SERVER_URL).toString();
  await migrateDatabase(url, sets);
  const database = openDatabase(url, { poolSize: options.poolSize ?? 8 });
  return {
    ...database,
    url,
    name,
    async drop() {
      await database.close();
      await dropDatabase(name);
    },
  };
}

export async function dropDatabase(name: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: TEST_SERVER_URL });
  try {
    await connection.query(`DROP DATABASE IF EXISTS ${connection.escapeId(name)}`);
  } finally {
    await connection.end();
  }
}

/** Runs one query on the test server over its own connection (for assertions that bypass the pool). */
export async function queryOnce<T extends mysql.RowDataPacket[]>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    const [rows] = await connection.query<T>(sql, values);
    return rows;
  } finally {
    await connection.end();
  }
}
