import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

let sagaDb: TestDatabase;
let userDb: TestDatabase;
let scoreDb: TestDatabase;

beforeAll(async () => {
  [sagaDb, userDb, scoreDb] = await Promise.all([
    createTestDatabase(['saga']),
    createTestDatabase(['user', 'barrier']),
    createTestDatabase(['score', 'barrier']),
  ]);
});
afterAll(async () => {
  await Promise.all([sagaDb, userDb, scoreDb].map((database) => database?.drop()));
});

/**
 * `npm run barrier:prune` as shipped (dist/, built by global-setup.ts), with only the environment given:
 * nothing from the shell running the tests leaks in.
 */
function prune(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/src/db/barrier-prune-cli.js', '--older-than', '7d'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', JWT_SECRET: TEST_JWT_SECRET, ...env },
      },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr }),
    );
  });
}

async function insertBarrier(database: TestDatabase, gid: string, daysAgo: number) {
  await queryOnce(
    database.url,
    "INSERT INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason, create_time) VALUES ('saga', ?, '01', 'action', '01', 'action', NOW() - INTERVAL ? DAY)",
    [gid, daysAgo],
  );
}

async function gids(database: TestDatabase): Promise<string[]> {
  const rows = await queryOnce(database.url, 'SELECT gid FROM barrier');
  return rows.map((row) => String(row.gid)).sort();
}

describe('npm run barrier:prune', () => {
  it('refuses with exit code 2, naming SAGA_DATABASE_URL, when its database has no saga table', async () => {
    await insertBarrier(userDb, 'refused-no-table', 8);

    const run = await prune({ DATABASE_URL: userDb.url });

    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/cannot read the saga table/);
    expect(run.stderr).toMatch(/SAGA_DATABASE_URL/);
    expect(await gids(userDb)).toContain('refused-no-table');
  });

  it('refuses with exit code 2 when the saga database does not answer', async () => {
    await insertBarrier(userDb, 'refused-no-answer', 8);

    const run = await prune({
      DATABASE_URL: userDb.url,
      SAGA_DATABASE_URL: 'mysql://root@127.0.0.1:1/sagas',
    });

    expect(run.code, run.stdout + run.stderr).toBe(2);
    expect(run.stderr).toMatch(/SAGA_DATABASE_URL/);
    expect(await gids(userDb)).toContain('refused-no-answer');
  });

  it('prunes every barrier database it is given, keeping the rows of sagas not final yet', async () => {
    const created = new Date(Date.now() - 8 * 86_400_000);
    await queryOnce(
      sagaDb.url,
      "INSERT INTO saga (gid, type, machine_version, status, state, progress, input, created_at, updated_at) VALUES ('stuck', 'register', 1, 'compensating', 'compensating', '{}', '{}', ?, ?)",
      [created, created],
    );
    for (const database of [userDb, scoreDb]) {
      await insertBarrier(database, 'stuck', 8);
      await insertBarrier(database, 'dtm-unknown', 8);
      await insertBarrier(database, 'fresh', 1);
    }

    const run = await prune({
      // DATABASE_URL names the user database too: it must not matter once each one is given.
      DATABASE_URL: userDb.url,
      SAGA_DATABASE_URL: sagaDb.url,
      USER_DATABASE_URL: userDb.url,
      SCORE_DATABASE_URL: scoreDb.url,
    });

    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await gids(userDb)).toEqual(['fresh', 'stuck']);
    expect(await gids(scoreDb)).toEqual(['fresh', 'stuck']);
    expect(run.stdout).toMatch(/deleted \d+ barrier rows/);
  });
});
