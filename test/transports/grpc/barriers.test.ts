import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { pruneBarriers } from '../../../src/db/barrier-prune.js';
import { createSagaQueries } from '../../../src/db/saga-queries.js';
import { createLogger } from '../../../src/logger.js';
import { createBarrierClient } from '../../../src/transports/grpc/barrier-client.js';
import type { BarriersClient } from '../../../src/transports/grpc/generated/barrier/Barriers.js';
import type { PruneRequest } from '../../../src/transports/grpc/generated/barrier/PruneRequest.js';
import { parseServiceTarget, type ServiceTarget } from '../../../src/transports/grpc/grpc-address.js';
import { loadProtos } from '../../../src/transports/grpc/protos.js';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET } from '../../helpers/app.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import { rawCall, SERVICE_TOKEN } from '../../helpers/grpc.js';

// The split deployment: user and score each with its own database (and barrier table, and no saga
// table), served over gRPC; the api process with the saga log in a third database.
let userDb: TestDatabase;
let scoreDb: TestDatabase;
let sagaDb: TestDatabase;
let user: App;
let score: App;
let api: App;
const apps: App[] = [];
const serviceLog: string[] = [];

function start(env: Record<string, string>, destination?: { write(line: string): void }): Promise<App> {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SERVICE_TOKEN,
    USER_GRPC_ADDR: '127.0.0.1:0',
    SCORE_GRPC_ADDR: '127.0.0.1:0',
    BARRIER_RETENTION: '7d',
    RETRY_BASE_MS: '20',
    RETRY_MAX_MS: '200',
    REGISTER_WAIT_MS: '0',
    ...env,
  });
  const logger = createLogger({
    level: destination ? 'info' : 'silent',
    env: 'test',
    pretty: false,
    ...(destination ? { destination } : {}),
  });
  return buildApp(config, logger).then((app) => {
    apps.push(app);
    return app;
  });
}

function apiEnv(): Record<string, string> {
  return {
    ROLES: 'api',
    SAGA_DATABASE_URL: sagaDb.url,
    USER_SERVICE: `grpc://127.0.0.1:${user.grpc.user?.port}`,
    SCORE_SERVICE: `grpc://127.0.0.1:${score.grpc.score?.port}`,
  };
}

beforeAll(async () => {
  [userDb, scoreDb, sagaDb] = await Promise.all([
    createTestDatabase(['user', 'barrier']),
    createTestDatabase(['score', 'barrier']),
    createTestDatabase(['saga']),
  ]);
  const capture = { write: (line: string) => void serviceLog.push(line) };
  // Each service would prune its own table every 100 ms if it still pruned by age. The user service
  // refuses every compensation (as one refusing its token for a week would): a saga stays compensating.
  user = await start(
    {
      ROLES: 'user',
      USER_DATABASE_URL: userDb.url,
      BARRIER_PRUNE_INTERVAL: '100ms',
      FAULTS: 'user.saveUserCallback=transient',
    },
    capture,
  );
  score = await start({ ROLES: 'score', SCORE_DATABASE_URL: scoreDb.url, BARRIER_PRUNE_INTERVAL: '100ms' });
  api = await start({ ...apiEnv(), BARRIER_PRUNE_INTERVAL: '0' });
}, 60_000);

afterAll(async () => {
  for (const app of apps.reverse()) await app.close();
  await Promise.all([userDb, scoreDb, sagaDb].map((database) => database?.drop()));
});

async function rows(database: TestDatabase): Promise<string[]> {
  const found = await queryOnce(database.url, 'SELECT gid, op, reason FROM barrier');
  return found.map((row) => `${row.gid}/${row.op}/${row.reason}`).sort();
}

async function insertOld(database: TestDatabase, gid: string, daysAgo: number) {
  await queryOnce(
    database.url,
    "INSERT INTO barrier (trans_type, gid, branch_id, op, barrier_id, reason, create_time) VALUES ('saga', ?, '01', 'action', '01', 'action', NOW() - INTERVAL ? DAY)",
    [gid, daysAgo],
  );
}

async function register(id: number, scoreValue: number): Promise<string> {
  const response = await (api.http as NonNullable<App['http']>).inject({
    method: 'POST',
    url: '/register',
    payload: { id, name: `user ${id}`, gender: 'x', score: scoreValue },
  });
  return response.json().gid as string;
}

async function statusOf(gid: string): Promise<string> {
  return String((await queryOnce(sagaDb.url, 'SELECT status FROM saga WHERE gid = ?', [gid]))[0]?.status);
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return check();
}

describe('barrier pruning in the split deployment', () => {
  it('a service-only process leaves its barrier table alone and says the api process prunes it', async () => {
    await insertOld(userDb, 'dtm-left-alone', 8);
    await insertOld(scoreDb, 'dtm-left-alone', 8);
    await sleep(600); // six of the services' pruning intervals

    expect(await rows(userDb)).toContain('dtm-left-alone/action/action');
    expect(await rows(scoreDb)).toContain('dtm-left-alone/action/action');
    expect(serviceLog.join('')).toContain('barrier table pruned by the api process');
  });

  it('prunes each service table from the api process over gRPC, keeping the rows of a saga still compensating', async () => {
    const stuck = await register(1, 10);
    const done = await register(2, 5);
    expect(await until(async () => (await statusOf(done)) === 'succeeded')).toBe(true);
    expect(
      await until(
        async () =>
          (await statusOf(stuck)) === 'compensating' &&
          (await rows(userDb)).includes(`${stuck}/action/action`) &&
          (await rows(scoreDb)).includes(`${stuck}/compensate/compensate`),
      ),
    ).toBe(true);

    // A week later: both sagas and their rows are past the retention; one saga is still compensating.
    await queryOnce(sagaDb.url, 'UPDATE saga SET created_at = NOW(3) - INTERVAL 8 DAY');
    for (const database of [userDb, scoreDb]) {
      await queryOnce(database.url, 'UPDATE barrier SET create_time = NOW() - INTERVAL 8 DAY');
      await insertOld(database, 'dtm-unknown-old', 8);
      await insertOld(database, 'dtm-unknown-fresh', 0);
    }
    const before = { user: await rows(userDb), score: await rows(scoreDb) };
    expect(before.user).toContain(`${done}/action/action`);

    // A second api process (as a replica would) with the pruner on; the first keeps running the saga.
    const pruning = await start({ ...apiEnv(), BARRIER_PRUNE_INTERVAL: '100ms' });
    expect(
      await until(async () =>
        [await rows(userDb), await rows(scoreDb)].every(
          (found) =>
            !found.includes('dtm-unknown-old/action/action') &&
            !found.includes('dtm-left-alone/action/action'),
        ),
      ),
    ).toBe(true);

    expect(await rows(userDb)).toEqual([`${stuck}/action/action`, 'dtm-unknown-fresh/action/action'].sort());
    expect(await rows(scoreDb)).toEqual(
      [
        `${stuck}/action/compensate`,
        `${stuck}/compensate/compensate`,
        'dtm-unknown-fresh/action/action',
      ].sort(),
    );
    expect(await statusOf(stuck)).toBe('compensating');
    await pruning.close();
  });

  it('answers UNAUTHENTICATED without the service token and INVALID_ARGUMENT for a bad request, deleting nothing', async () => {
    await insertOld(userDb, 'dtm-guarded', 30);
    const client = new (loadProtos().barrier.Barriers)(
      `127.0.0.1:${user.grpc.user?.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as BarriersClient;
    const prune = (request: PruneRequest, token: string | null = SERVICE_TOKEN) => {
      const metadata = new grpc.Metadata();
      if (token !== null) metadata.set('authorization', `Bearer ${token}`);
      return rawCall(client.prune.bind(client), request, metadata);
    };
    // 20 days: of the rows there now, only this test's.
    const valid = { olderThanSeconds: 20 * 86_400, keepGids: [], batchSize: 100 };

    expect(await prune(valid, null)).toMatchObject({ ok: false, code: grpc.status.UNAUTHENTICATED });
    expect(await prune(valid, 'not-the-service-token-at-all')).toMatchObject({
      ok: false,
      code: grpc.status.UNAUTHENTICATED,
    });
    const bad: Array<[PruneRequest, RegExp]> = [
      [{ ...valid, olderThanSeconds: 0 }, /at least 60 seconds/],
      [{ ...valid, olderThanSeconds: 59 }, /at least 60 seconds/],
      [{ ...valid, batchSize: 0 }, /batch size/],
      [{ ...valid, batchSize: 100_001 }, /batch size/],
      [{ ...valid, keepGids: [''] }, /1 to 128 characters/],
      [{ ...valid, keepGids: ['g'.repeat(129)] }, /1 to 128 characters/],
      [{ ...valid, keepGids: Array.from({ length: 5_001 }, (_, i) => `g-${i}`) }, /at most 5000 gids/],
    ];
    for (const [request, message] of bad) {
      const outcome = await prune(request);
      expect(outcome).toMatchObject({ ok: false, code: grpc.status.INVALID_ARGUMENT });
      expect(outcome.ok === false && outcome.details).toMatch(message);
    }
    expect(await rows(userDb)).toContain('dtm-guarded/action/action');

    expect(await prune({ ...valid, keepGids: ['dtm-guarded'] })).toEqual({
      ok: true,
      response: { deleted: 0 },
    });
    expect(await prune(valid)).toEqual({ ok: true, response: { deleted: 1 } });
    expect(await rows(userDb)).not.toContain('dtm-guarded/action/action');
    client.close();
  });

  it('skips a service that does not answer and prunes the others, saying which one failed', async () => {
    await insertOld(scoreDb, 'dtm-behind-a-dead-one', 30);
    const settings = {
      token: SERVICE_TOKEN,
      deadlineMs: 1_000,
      credentials: grpc.credentials.createInsecure(),
    };
    const target = (url: string) => parseServiceTarget(url) as ServiceTarget;
    const down = createBarrierClient(target('grpc://127.0.0.1:1'), settings);
    const up = createBarrierClient(target(`grpc://127.0.0.1:${score.grpc.score?.port}`), settings);
    const warnings: object[] = [];

    const deleted = await pruneBarriers(
      createSagaQueries(sagaDb.db),
      [
        { name: 'down', table: down },
        { name: 'score', table: up },
      ],
      { retentionMs: 20 * 86_400_000 },
      { info: () => {}, warn: (fields) => void warnings.push(fields) },
    );
    down.close();
    up.close();

    expect(deleted).toEqual(new Map([['score', 1]]));
    expect(warnings).toEqual([expect.objectContaining({ table: 'down' })]);
    expect(await rows(scoreDb)).not.toContain('dtm-behind-a-dead-one/action/action');
  });
});
