import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBarrierTable, pruneTable } from '../../src/db/barrier-prune.js';
import { FINAL_SAGA_STATUSES, pruneSagas } from '../../src/db/saga-retention.js';
import { isFinalStatus, sagaStatuses } from '../../src/domain/saga.js';
import { call, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

const DAY_MS = 86_400_000;

/** Saga rows as the coordinator leaves them: final ones have finished_at; running ones do not. */
async function seed(
  database: TestDatabase,
  rows: Array<{ gid: string; status: string; finishedDaysAgo?: number }>,
) {
  for (const row of rows) {
    const final = row.finishedDaysAgo !== undefined;
    await database.pool.query(
      `INSERT INTO saga (gid, type, machine_version, status, state, progress, input, created_at, updated_at, finished_at)
       VALUES (?, 'register', 1, ?, ?, '{}', '{}', NOW(3) - INTERVAL 90 DAY, NOW(3), ${final ? 'NOW(3) - INTERVAL ? DAY' : 'NULL'})`,
      final ? [row.gid, row.status, row.status, row.finishedDaysAgo] : [row.gid, row.status, row.status],
    );
  }
}

const gids = async (database: TestDatabase) =>
  (await queryOnce(database.url, 'SELECT gid FROM saga ORDER BY gid')).map((row) => String(row.gid));

describe('pruneSagas', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(['saga']);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('knows the same final statuses as the domain', () => {
    expect([...FINAL_SAGA_STATUSES].sort()).toEqual(sagaStatuses.filter(isFinalStatus).sort());
  });

  it('deletes only final sagas that finished before the retention, in batches; running ones stay however old', async () => {
    await seed(database, [
      ...Array.from({ length: 5 }, (_, i) => ({
        gid: `old-ok-${i}`,
        status: 'succeeded',
        finishedDaysAgo: 40,
      })),
      { gid: 'old-aborted', status: 'aborted', finishedDaysAgo: 31 },
      { gid: 'recent-ok', status: 'succeeded', finishedDaysAgo: 29 },
      { gid: 'running-pending', status: 'pending' },
      { gid: 'running-compensating', status: 'compensating' },
    ]);
    const deleted = await pruneSagas(database.db, { olderThanMs: 30 * DAY_MS, batchSize: 2 });
    expect(deleted).toBe(6);
    expect(await gids(database)).toEqual(['recent-ok', 'running-compensating', 'running-pending']);
  });

  it('runs as npm run saga:prune, on SAGA_DATABASE_URL, with SAGA_RETENTION or --older-than', async () => {
    await seed(database, [
      { gid: 'cli-old', status: 'aborted', finishedDaysAgo: 20 },
      { gid: 'cli-older', status: 'succeeded', finishedDaysAgo: 50 },
    ]);
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['dist/src/db/saga-prune-cli.js', ...args], {
        cwd: root,
        env: { ...process.env, NODE_ENV: 'test', SAGA_DATABASE_URL: database.url, SAGA_RETENTION: '45d' },
      });
    expect((await run([])).stdout).toMatch(/deleted 1 final sagas/);
    expect(await gids(database)).toContain('cli-old');
    expect((await run(['--older-than', '10d'])).stdout).toMatch(/deleted 2 final sagas older than 10d/);
    expect(await gids(database)).not.toContain('cli-old');
    await expect(run(['--older-than', 'soon'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--older-than expects a duration/),
    });
  });
});

describe('saga retention in the service', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({
      SAGA_RETENTION: '2h',
      BARRIER_RETENTION: '1h',
      SAGA_PRUNE_INTERVAL: '200ms',
    });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('prunes on its schedule when SAGA_PRUNE_INTERVAL is set', async () => {
    await seed(service.database, [
      { gid: 'scheduled-old', status: 'succeeded', finishedDaysAgo: 1 },
      { gid: 'scheduled-running', status: 'pending' },
    ]);
    let left = await gids(service.database);
    for (let i = 0; i < 40 && left.includes('scheduled-old'); i++) {
      await sleep(100);
      left = await gids(service.database);
    }
    expect(left).not.toContain('scheduled-old');
    expect(left).toContain('scheduled-running');
  });

  it('forgets an Idempotency-Key with its saga: the same request then starts a new saga (here refused as a duplicate)', async () => {
    const request = {
      body: { id: 95_001, name: 'Keyed', gender: 'x', score: 2 },
      headers: { 'idempotency-key': 'retention-key-1' },
    };
    const first = await call(service.url, 'POST', '/register', request);
    expect(first.status).toBe(201);
    expect((await call(service.url, 'POST', '/register', request)).body).toEqual(first.body);

    // Past both retentions: the saga row goes, and its barrier rows before it.
    await queryOnce(
      service.database.url,
      'UPDATE saga SET created_at = NOW(3) - INTERVAL 3 HOUR, finished_at = NOW(3) - INTERVAL 3 HOUR WHERE gid = ?',
      [first.body.gid],
    );
    await queryOnce(
      service.database.url,
      'UPDATE barrier SET create_time = NOW() - INTERVAL 90 MINUTE WHERE gid = ?',
      [first.body.gid],
    );
    await pruneTable(createBarrierTable(service.database.db), { olderThanMs: 3_600_000, keepGids: [] });
    for (let i = 0; i < 40 && (await gids(service.database)).includes(first.body.gid); i++) await sleep(100);
    expect(await gids(service.database)).not.toContain(first.body.gid);

    const again = await call(service.url, 'POST', '/register', request);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      gid: first.body.gid,
      status: 'aborted',
      error: { code: 'duplicate_user' },
    });
  });
});
