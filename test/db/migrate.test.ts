import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateDatabase, migrationsApplied } from '../../src/db/migrate.js';
import { migrationSetNames } from '../../src/db/migration-sets.js';
import { dropDatabase, queryOnce, TEST_SERVER_URL } from '../helpers/database.js';

const name = `t_${Date.now().toString(36)}_migrate`;
const url = new URL(name, TEST_SERVER_URL).toString();

afterAll(async () => {
  await dropDatabase(name);
});

describe('migrateDatabase', () => {
  it('creates the database and its tables when four processes migrate it at once', async () => {
    // Each call opens its own connections, as separate processes would; GET_LOCK makes them take turns.
    await Promise.all(Array.from({ length: 4 }, () => migrateDatabase(url, migrationSetNames)));

    const tables = await queryOnce(url, 'SHOW TABLES');
    expect(tables.map((row) => Object.values(row)[0]).sort()).toEqual([
      '__drizzle_migrations_barrier',
      '__drizzle_migrations_saga',
      '__drizzle_migrations_score',
      '__drizzle_migrations_user',
      'barrier',
      'saga',
      'saga_finished_minute',
      'user',
      'user_score',
    ]);
    for (const set of migrationSetNames) {
      const applied = await queryOnce(url, `SELECT COUNT(*) AS n FROM __drizzle_migrations_${set}`);
      // Each migration of the set applied exactly once, however many processes raced.
      const journal = JSON.parse(
        readFileSync(new URL(`../../drizzle/${set}/meta/_journal.json`, import.meta.url), 'utf8'),
      ) as { entries: unknown[] };
      expect(Number(applied[0]?.n), set).toBe(journal.entries.length);
    }
  });

  it('creates only the tables of the sets it is given', async () => {
    const only = `${name}_user`;
    const userOnly = new URL(only, TEST_SERVER_URL).toString();
    try {
      await migrateDatabase(userOnly, ['user', 'barrier']);
      const tables = await queryOnce(userOnly, `SHOW TABLES WHERE \`Tables_in_${only}\` NOT LIKE '\\_\\_%'`);
      expect(tables.map((row) => Object.values(row)[0]).sort()).toEqual(['barrier', 'user']);
    } finally {
      await dropDatabase(only);
    }
  });

  it('tells readiness whether every shipped migration is recorded in the database', async () => {
    await migrateDatabase(url, migrationSetNames);
    const pool = mysql.createPool({ uri: url, connectionLimit: 1 });
    try {
      expect(await migrationsApplied(pool, migrationSetNames)).toBe(true);
      // As after a restore from an older backup: the last saga migration is not recorded.
      await pool.query('DELETE FROM __drizzle_migrations_saga ORDER BY id DESC LIMIT 1');
      expect(await migrationsApplied(pool, ['user', 'score', 'barrier'])).toBe(true);
      expect(await migrationsApplied(pool, ['saga'])).toBe(false);
    } finally {
      await pool.end();
    }
  });
});
