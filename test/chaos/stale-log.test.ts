import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';
import { sameDatabase, settledInvariant } from './invariant.js';

let database: TestDatabase;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
  await database?.drop();
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

describe('a saga resumed from a stale log past its deadline', () => {
  // The reproduction: the process dies right after a score row commits, while the log still
  // says `pending` (clean forward moves are not written at once); it comes back after the saga's
  // deadline and its lease, and the replayed saveUser fails transiently once, so the saga compensates.
  it('compensates every branch that may have run, so nothing is left behind', async () => {
    const port = await freePort();
    const env = (faults: string) => ({
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
    const ids = [9_001, 9_002, 9_003];
    await Promise.all(ids.map((id) => register(first.url, id, 5)));
    await exited;
    expect(first.output()).toContain('"point":"score.saveUserScore.afterCommit"');

    await sleep(3_000); // past the deadline (1.5 s) and the lease (2 s)
    const second = await startServiceProcess(env('user.saveUser=transient:times=1'));
    processes.push(second);
    const report = await settledInvariant(sameDatabase(database.url), 20_000);
    expect(report.violations).toEqual([]);
    expect(report.open).toBe(0);

    // Nothing half-done blocks the ids: an aborted registration's id can be registered again.
    const finals = await queryOnce(
      database.url,
      "SELECT status, CAST(JSON_VALUE(input, '$.user.id') AS UNSIGNED) AS id FROM saga",
    );
    expect(finals.map((row) => Number(row.id)).sort()).toEqual(ids);
    for (const { id, status } of finals) {
      const again = await register(second.url, Number(id), 5);
      if (status === 'aborted') expect(again).toEqual({ status: 201, code: undefined });
      else expect(again).toEqual({ status: 409, code: 'duplicate_user' });
    }
  }, 60_000);
});
