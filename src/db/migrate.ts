import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import mysql from 'mysql2/promise';
import { connectionOptions } from './connection.js';
import { locateDatabase } from './database-url.js';
import { type MigrationSetName, migrationSet } from './migration-sets.js';

const LOCK_WAIT_SECONDS = 120;

export interface MigrationLog {
  info(message: string): void;
}

/**
 * Creates the database if it is missing and applies the migrations of the given sets, holding a named
 * server lock (GET_LOCK) so that processes starting together against one database take turns instead of
 * racing each other's CREATE TABLEs. Runs over a single connection, as drizzle's migrator expects.
 */
export async function migrateDatabase(
  url: string,
  sets: readonly MigrationSetName[],
  log?: MigrationLog,
): Promise<void> {
  const location = locateDatabase(url);
  await createDatabaseIfMissing(location.serverUrl, location.database);

  const connection = await mysql.createConnection({
    ...connectionOptions(location.url),
    multipleStatements: false,
  });
  const lockName = `saga-service:migrate:${location.database}`.slice(0, 64);
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS locked', [
      lockName,
      LOCK_WAIT_SECONDS,
    ]);
    if (rows[0]?.locked !== 1) {
      throw new Error(
        `timed out after ${LOCK_WAIT_SECONDS}s waiting for the migration lock on ${location.database}`,
      );
    }
    try {
      const db = drizzle({ client: connection });
      for (const name of sets) {
        const set = migrationSet(name);
        await migrate(db, { migrationsFolder: set.migrationsFolder, migrationsTable: set.migrationsTable });
        log?.info(`migrations applied: ${name} (database ${location.database})`);
      }
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [lockName]);
    }
  } finally {
    await connection.end();
  }
}

/** How many migrations this build ships for a set (drizzle-kit's journal), read once. */
const shipped = new Map<MigrationSetName, number>();
function shippedMigrations(name: MigrationSetName): number {
  let count = shipped.get(name);
  if (count === undefined) {
    const journal = JSON.parse(
      readFileSync(join(migrationSet(name).migrationsFolder, 'meta', '_journal.json'), 'utf8'),
    ) as { entries: unknown[] };
    count = journal.entries.length;
    shipped.set(name, count);
  }
  return count;
}

/**
 * Readiness: whether every migration this build ships for `sets` is recorded in the database (one small
 * query per set). False when one is missing, say after the schema was restored from an older backup;
 * a database that does not answer throws, as any query would.
 */
export async function migrationsApplied(
  pool: mysql.Pool,
  sets: readonly MigrationSetName[],
): Promise<boolean> {
  for (const name of sets) {
    const { migrationsTable } = migrationSet(name);
    const [rows] = await pool.query<mysql.RowDataPacket[]>(
      `SELECT COUNT(*) AS n FROM ${mysql.escapeId(migrationsTable)}`,
    );
    if (Number(rows[0]?.n) < shippedMigrations(name)) return false;
  }
  return true;
}

async function createDatabaseIfMissing(serverUrl: string, database: string): Promise<void> {
  const connection = await mysql.createConnection(connectionOptions(serverUrl));
  try {
    // utf8mb4_bin: gids and barrier keys are case-sensitive strings, as DTM treats them.
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS ${connection.escapeId(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await connection.end();
  }
}
