import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import { freePort, type ServiceProcess, startServiceProcess } from '../../helpers/service-process.js';

// The tutorial's deployment: user and user-score as their own gRPC services, each with its own database
// (and its own barrier table), driven by the api process's coordinator.
let userDb: TestDatabase;
let scoreDb: TestDatabase;
let sagaDb: TestDatabase;
let userPort: number;
let scorePort: number;
const processes: ServiceProcess[] = [];
let api: ServiceProcess;
let score: ServiceProcess;

const secret = 'split-test-jwt-secret-split-test-jwt-secret';

function startUser() {
  return startServiceProcess(
    { ROLES: 'user', USER_GRPC_ADDR: `127.0.0.1:${userPort}`, USER_DATABASE_URL: userDb.url },
    { readyGrpc: `127.0.0.1:${userPort}` },
  );
}
function startScore() {
  return startServiceProcess(
    { ROLES: 'score', SCORE_GRPC_ADDR: `127.0.0.1:${scorePort}`, SCORE_DATABASE_URL: scoreDb.url },
    { readyGrpc: `127.0.0.1:${scorePort}` },
  );
}

beforeAll(async () => {
  [userDb, scoreDb, sagaDb] = await Promise.all([
    createTestDatabase(['user', 'barrier']),
    createTestDatabase(['score', 'barrier']),
    createTestDatabase(['saga']),
  ]);
  [userPort, scorePort] = [await freePort(), await freePort()];
  const [user, scoreProcess] = await Promise.all([startUser(), startScore()]);
  score = scoreProcess;
  processes.push(user, score);
  api = await startServiceProcess({
    ROLES: 'api',
    USER_SERVICE: `grpc://127.0.0.1:${userPort}`,
    SCORE_SERVICE: `grpc://127.0.0.1:${scorePort}`,
    SAGA_DATABASE_URL: sagaDb.url,
    JWT_SECRET: secret,
    ADMIN_TOKEN: 'split-admin-token-0123456789',
    RETRY_BASE_MS: '50',
    RETRY_MAX_MS: '500',
  });
  processes.push(api);
}, 90_000);

afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await Promise.all([userDb, scoreDb, sagaDb].map((database) => database?.drop()));
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function count(database: TestDatabase, sql: string, values: unknown[]) {
  return Number((await queryOnce(database.url, sql, values))[0]?.n);
}

describe('split deployment: user, score and api as three processes', () => {
  it('registers, logs in and reads the user through the gRPC services', async () => {
    const registered = await post('/register', {
      id: 1,
      name: 'Split',
      gender: 'x',
      password: 'split password',
      score: 4,
    });
    expect(registered.status).toBe(201);
    const login = await post('/login', { id: 1, password: 'split password' });
    expect(login.status).toBe(200);
    const user = await fetch(`${api.url}/user`, { headers: { authorization: `Bearer ${login.body.token}` } });
    expect(await user.json()).toEqual({ id: 1, name: 'Split', gender: 'x', score: 4 });
    expect(await count(userDb, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [1])).toBe(1);
    expect(await count(scoreDb, 'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?', [1])).toBe(1);
  });

  it('compensates score 10 across the processes, each barrier in its own database', async () => {
    const refused = await post('/register', { id: 2, name: 'Ten', gender: 'x', score: 10 });
    expect(refused.status).toBe(422);
    const gid = refused.body.gid as string;
    expect(await count(userDb, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [2])).toBe(0);
    expect(await count(scoreDb, 'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?', [2])).toBe(0);
    // user: action + compensate rows; score: the null compensation's two rows (the refused action left none).
    const userBarrier = await queryOnce(
      userDb.url,
      'SELECT op, reason FROM barrier WHERE gid = ? ORDER BY id',
      [gid],
    );
    const scoreBarrier = await queryOnce(
      scoreDb.url,
      'SELECT op, reason FROM barrier WHERE gid = ? ORDER BY id',
      [gid],
    );
    expect(userBarrier.map((row) => `${row.op}/${row.reason}`)).toEqual([
      'action/action',
      'compensate/compensate',
    ]);
    expect(scoreBarrier.map((row) => `${row.op}/${row.reason}`)).toEqual([
      'action/compensate',
      'compensate/compensate',
    ]);
  });

  it('loses no saga when the score service is killed mid-flight and back 3 s later', async () => {
    const ids = Array.from({ length: 60 }, (_, index) => 100 + index);
    const requests = ids.map(async (id, index) => {
      await sleep(index * 15);
      return post('/register', { id, name: `user ${id}`, gender: 'x', score: id % 5 === 0 ? 10 : 1 });
    });
    await sleep(300);
    await score.kill('SIGKILL');
    await sleep(3_000);
    score = await startScore();
    processes.push(score);
    const answers = await Promise.all(requests);
    expect(answers.every((answer) => [201, 202, 422].includes(answer.status))).toBe(true);

    const deadline = Date.now() + 30_000;
    let open = 1;
    while (open > 0 && Date.now() < deadline) {
      open = await count(
        sagaDb,
        "SELECT COUNT(*) AS n FROM saga WHERE status NOT IN ('succeeded','aborted')",
        [],
      );
      if (open > 0) await sleep(250);
    }
    expect(open).toBe(0);
    const sagas = await queryOnce(
      sagaDb.url,
      "SELECT status, JSON_VALUE(input, '$.user.id') AS id FROM saga WHERE JSON_VALUE(input, '$.user.id') >= 100",
    );
    expect(sagas).toHaveLength(60);
    for (const saga of sagas) {
      const users = await count(userDb, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [saga.id]);
      const scores = await count(scoreDb, 'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?', [
        saga.id,
      ]);
      expect({ id: saga.id, status: saga.status, users, scores }).toEqual({
        id: saga.id,
        status: saga.status,
        users: saga.status === 'succeeded' ? 1 : 0,
        scores: saga.status === 'succeeded' ? 1 : 0,
      });
    }
    expect(sagas.filter((saga) => saga.status === 'aborted').length).toBeGreaterThanOrEqual(12);
  }, 90_000);
});
