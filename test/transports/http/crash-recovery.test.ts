import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import { type ServiceProcess, startServiceProcess } from '../../helpers/service-process.js';

let database: TestDatabase;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(processes.map((service) => service.kill()));
  await database?.drop();
});

const env = () => ({
  DATABASE_URL: database.url,
  JWT_SECRET: 'crash-test-secret-crash-test-secret-1',
  SAGA_LEASE_MS: '2000',
  RECOVERY_INTERVAL_MS: '200',
});

/** Every saga final and all-or-nothing: the invariant a saga service exists to keep. */
async function checkInvariant() {
  const sagas = await queryOnce(
    database.url,
    "SELECT gid, status, JSON_VALUE(input, '$.user.id') AS id FROM saga",
  );
  const users = new Set((await queryOnce(database.url, 'SELECT id FROM user')).map((row) => String(row.id)));
  const scores = (await queryOnce(database.url, 'SELECT user_id FROM user_score')).map((row) =>
    String(row.user_id),
  );
  const violations: string[] = [];
  for (const saga of sagas) {
    const hasUser = users.has(String(saga.id));
    const hasScore = scores.includes(String(saga.id));
    if (saga.status === 'succeeded' && !(hasUser && hasScore))
      violations.push(`${saga.gid} succeeded without both rows`);
    if (saga.status === 'aborted' && (hasUser || hasScore))
      violations.push(`${saga.gid} aborted but left a row`);
    if (saga.status !== 'succeeded' && saga.status !== 'aborted')
      violations.push(`${saga.gid} is ${saga.status}`);
  }
  const succeededIds = new Set(
    sagas.filter((saga) => saga.status === 'succeeded').map((saga) => String(saga.id)),
  );
  for (const id of users) if (!succeededIds.has(id)) violations.push(`user ${id} has no succeeded saga`);
  if (new Set(scores).size !== scores.length) violations.push('duplicate score rows');
  return { sagas, violations };
}

describe('crash recovery', () => {
  it('finishes every saga after a SIGKILL mid-flight: all succeeded with both rows or aborted with neither', async () => {
    const first = await startServiceProcess(env());
    processes.push(first);

    let responses = 0;
    let next = 0;
    const total = 300;
    let killed = false;
    const fire = async () => {
      while (next < total && !killed) {
        const id = 1_000 + next++;
        try {
          const response = await fetch(`${first.url}/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ id, name: `user ${id}`, gender: 'x', score: id % 5 === 0 ? 10 : 1 }),
          });
          await response.text();
          responses++;
        } catch {
          return; // the process is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 24 }, fire));
    while (responses < 80) await sleep(5);
    // Kill while the log shows sagas under way: on a busy machine the moment right after a response can
    // find every saga final, and the restart would then have nothing to recover.
    for (let tries = 0; tries < 200; tries++) {
      const running = await queryOnce(
        database.url,
        "SELECT COUNT(*) AS n FROM saga WHERE status IN ('pending','compensating')",
      );
      if (Number(running[0]?.n) > 0) break;
      await sleep(5);
    }
    killed = true;
    await first.kill('SIGKILL');
    await load;

    const inFlight = await queryOnce(
      database.url,
      "SELECT COUNT(*) AS n FROM saga WHERE status IN ('pending','compensating')",
    );
    const second = await startServiceProcess(env());
    processes.push(second);

    const deadline = Date.now() + 30_000;
    let check = await checkInvariant();
    while (check.violations.length > 0 && Date.now() < deadline) {
      await sleep(250);
      check = await checkInvariant();
    }
    expect(check.violations).toEqual([]);
    expect(check.sagas.length).toBeGreaterThanOrEqual(80);
    // The kill really landed mid-flight (otherwise this test proves nothing about recovery).
    expect(Number(inFlight[0]?.n)).toBeGreaterThan(0);
    expect(second.output()).not.toMatch(/"level":(50|60)/);
  }, 90_000);
});
