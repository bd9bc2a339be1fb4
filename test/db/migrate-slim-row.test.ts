import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/mysql2';
import { migrate } from 'drizzle-orm/mysql2/migrator';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionOptions } from '../../src/db/connection.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { migrationSet } from '../../src/db/migration-sets.js';
import { createSagaLog } from '../../src/db/saga-log.js';
import { createSagaQueries } from '../../src/db/saga-queries.js';
import { registerMachine } from '../../src/machines/register-machine.js';
import { snapshotOf } from '../../src/machines/runtime/saga-progress.js';
import { dropDatabase, TEST_SERVER_URL } from '../helpers/database.js';

/** Sagas persisted by machine version 1 (XState snapshots in the `snapshot` column), captured then. */
const fixtures = JSON.parse(
  readFileSync(new URL('../machines/fixtures/register-v1-snapshots.json', import.meta.url), 'utf8'),
) as Record<string, { state: string; status: string; snapshot: { context: Record<string, unknown> } }>;

const name = `t_slim_${Date.now().toString(36)}`;
const url = new URL(name, TEST_SERVER_URL).toString();
let folder: string;

beforeAll(async () => {
  // The saga set's migrations as they stood before the slim row (0000 to 0003).
  folder = mkdtempSync(join(tmpdir(), 'saga-migrations-'));
  cpSync(migrationSet('saga').migrationsFolder, folder, { recursive: true });
  const journalFile = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
  journal.entries = journal.entries.filter((entry) => entry.tag <= '0003');
  writeFileSync(journalFile, JSON.stringify(journal));
  await migrateDatabase(url, ['user']); // creates the database
  const connection = await mysql.createConnection({ ...connectionOptions(url), multipleStatements: false });
  try {
    await migrate(drizzle({ client: connection }), {
      migrationsFolder: folder,
      migrationsTable: migrationSet('saga').migrationsTable,
    });
    for (const [fixture, { state, status, snapshot }] of Object.entries(fixtures)) {
      const context = snapshot.context;
      await connection.query(
        'INSERT INTO saga (gid, type, machine_version, status, state, snapshot, input, results, attempts, owner, lease_expires_at, finished_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, 1, NULL, NULL, ?)',
        [
          fixture,
          'register',
          status,
          state,
          JSON.stringify({ ...snapshot, context: { ...context, gid: fixture } }),
          JSON.stringify(context.input),
          JSON.stringify(context.results),
          status === 'pending' || status === 'compensating' ? null : new Date(),
        ],
      );
    }
  } finally {
    await connection.end();
  }
});

afterAll(async () => {
  rmSync(folder, { recursive: true, force: true });
  await dropDatabase(name);
});

describe('migration 0004 (the slim saga row)', () => {
  it('carries every version 1 saga over: its state, progress and timeline, resumable by this build', async () => {
    await migrateDatabase(url, ['saga']);
    const pool = mysql.createPool(connectionOptions(url));
    try {
      const log = createSagaLog(drizzle({ client: pool }) as never);
      const retry = { baseMs: 5, factor: 2, maxMs: 20 };
      for (const [gid, fixture] of Object.entries(fixtures)) {
        const record = await log.get(gid);
        expect(record, gid).toMatchObject({ gid, status: fixture.status, state: fixture.state });
        const context = fixture.snapshot.context;
        expect(record?.progress).toMatchObject({
          deadline: context.deadline,
          results: context.results,
          steps: context.steps,
          nextAttemptAt: context.nextAttemptAt,
          error: context.error,
          lastError: context.lastError,
        });
        expect(record?.detail).toEqual({ history: context.history, droppedHistory: context.droppedHistory });
        // This build resumes it in the state it was in, with the process's retry policy.
        const snapshot = snapshotOf(registerMachine, record as never, retry) as {
          value: unknown;
          context: { retry: unknown; input: unknown; history: unknown[] };
        };
        expect(snapshot.context.retry).toEqual(retry);
        expect(snapshot.context.input).toEqual(context.input);
        expect(snapshot.context.history).toEqual(context.history);
      }
      const listed = await createSagaQueries(drizzle({ client: pool }) as never).list({ limit: 50 });
      const waiting = listed.sagas.find((saga) => saga.gid === 'userSavedWaiting');
      expect(waiting).toMatchObject({ attempts: 1, lastError: { code: 'unavailable' } });
      expect(waiting?.nextAttemptAt).toEqual(
        new Date(fixtures.userSavedWaiting?.snapshot.context.nextAttemptAt as number),
      );
    } finally {
      await pool.end();
    }
  });
});
