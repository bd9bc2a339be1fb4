import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';
import { serviceModeEnv } from './load.js';

const processes: ServiceProcess[] = [];

afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
});

const register = (url: string, id: number, score: number) =>
  fetch(`${url}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id, name: `stale ${id}`, gender: 'x', score }),
    signal: AbortSignal.timeout(10_000),
  }).then(
    async (response) => {
      const body = (await response.json()) as { error?: { code?: string } };
      return { status: response.status, code: body.error?.code };
    },
    () => ({ status: 'no answer' as const, code: undefined }),
  );

describe.each(['remote', 'riding'] as const)(
  'a saga resumed past its deadline after a crash (%s)',
  (mode) => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await database?.drop();
    });

    // The reproduction: the process dies right after a score row commits; it comes back after
    // the saga's deadline and its lease, and the replayed saveUser fails transiently once, so the saga
    // compensates. Remote: the log still says `pending` (clean forward moves are not written at once).
    // Riding: the log is written in the branch transactions, so it is never stale; the same crash must
    // leave nothing behind either.
    it('compensates every branch that may have run, so nothing is left behind', async () => {
      const port = await freePort();
      const services = await serviceModeEnv(mode, freePort);
      const env = (faults: string) => ({
        ...services,
        PORT: String(port),
        DATABASE_URL: database.url,
        JWT_SECRET: 'stale-log-secret-stale-log-secret-0001',
        FAULTS: faults,
        SAGA_TIMEOUT_MS: '1500',
        SAGA_LEASE_MS: '2000',
        RECOVERY_INTERVAL_MS: '100',
        RETRY_BASE_MS: '10',
        RETRY_MAX_MS: '100',
      });
      const first = await startServiceProcess(env('score.saveUserScore.afterCommit=exit'));
      processes.push(first);
      const exited = once(first.child, 'exit');
      const ids = mode === 'remote' ? [9_001, 9_002, 9_003] : [9_101, 9_102, 9_103];
      await Promise.all(ids.map((id) => register(first.url, id, 5)));
      await exited;
      expect(first.output()).toContain('"point":"score.saveUserScore.afterCommit"');

      await sleep(3_000); // past the deadline (1.5 s) and the lease (2 s)
      const second = await startServiceProcess(env('user.saveUser=transient:times=1'));
      processes.push(second);
      const report = await settledInvariant(sameDatabase(database.url), 20_000);
      expect(report.violations).toEqual([]);
      expect(report.open).toBe(0);

      // Nothing half-done blocks the ids: an id whose registration aborted (or never got a row: riding,
      // its first branch had not committed) can be registered again.
      const finals = await queryOnce(
        database.url,
        "SELECT status, CAST(JSON_VALUE(input, '$.user.id') AS UNSIGNED) AS id FROM saga WHERE CAST(JSON_VALUE(input, '$.user.id') AS UNSIGNED) IN (?)",
        [ids],
      );
      if (mode === 'remote') expect(finals.map((row) => Number(row.id)).sort()).toEqual(ids);
      expect(finals.some((row) => row.status === 'succeeded' || row.status === 'aborted')).toBe(true);
      for (const id of ids) {
        const status = finals.find((row) => Number(row.id) === id)?.status;
        const again = await register(second.url, id, 5);
        if (status === 'succeeded') expect(again).toEqual({ status: 409, code: 'duplicate_user' });
        else expect(again).toEqual({ status: 201, code: undefined });
      }
    }, 60_000);
  },
);
