import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedisInvalidation, type RedisInvalidation } from '../../src/cache/redis-invalidation.js';
import { call } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { type ServiceProcess, startServiceProcess } from '../helpers/service-process.js';

// Issue #14: a compensation in one process must not leave another process serving the deleted user
// from its cache. Real processes on one database, and a real Redis.

const REDIS_URL = inject('redisUrl');
const JWT_SECRET = 'cache-test-secret-Zq8rT2vK5wX1yB7n';
const ADMIN_TOKEN = 'cache-test-admin-token-0123456789';
const quiet = { info() {}, warn() {} };

function token(userId: number): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ userId, iat: now + 1, exp: now + 600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

describe('cache invalidation across processes', () => {
  let database: TestDatabase;
  let compensating: ServiceProcess;
  let replica: ServiceProcess;
  let alone: ServiceProcess;

  beforeAll(async () => {
    database = await createTestDatabase();
    const common = {
      DATABASE_URL: database.url,
      JWT_SECRET,
      ADMIN_TOKEN,
      // Long enough that only an invalidation, never expiry, can explain a 404 below.
      CACHE_TTL_MS: '600000',
    };
    [compensating, replica, alone] = await Promise.all([
      // Its score branch is slow: the user row lives 1.5 s before the refused score compensates it away.
      startServiceProcess({
        ...common,
        REDIS_URL,
        FAULTS: 'score.saveUserScore=delay:1500ms',
        REGISTER_WAIT_MS: '50',
      }),
      startServiceProcess({ ...common, REDIS_URL }),
      startServiceProcess(common),
    ]);
  });
  afterAll(async () => {
    await Promise.all([compensating, replica, alone].map((service) => service?.kill('SIGTERM')));
    await database?.drop();
  });

  it('drops in every process with REDIS_URL the user a compensation deleted in another one', async () => {
    const id = 91_000;
    const registered = await call(compensating.url, 'POST', '/register', {
      body: { id, name: 'Everywhere', gender: 'x', score: 10 },
    });
    expect(registered.status).toBe(202);
    const read = (service: ServiceProcess) =>
      call(service.url, 'GET', '/user', { headers: { authorization: `Bearer ${token(id)}` } });
    // Both other processes read the row while it exists, and cache it.
    expect((await read(replica)).status).toBe(200);
    expect((await read(alone)).status).toBe(200);

    let saga = await call(compensating.url, 'GET', `/sagas/${registered.body.gid}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    for (let i = 0; i < 100 && saga.body.status !== 'aborted'; i++) {
      await sleep(50);
      saga = await call(compensating.url, 'GET', `/sagas/${registered.body.gid}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
    }
    expect(saga.body.status).toBe('aborted');

    let fromReplica = await read(replica);
    for (let i = 0; i < 20 && fromReplica.status === 200; i++) {
      await sleep(50); // the message is on its way
      fromReplica = await read(replica);
    }
    expect(fromReplica.status).toBe(404);
    expect(fromReplica.body.error.code).toBe('user_not_found');
    // Without REDIS_URL a process serves what it cached until CACHE_TTL_MS, as README says.
    expect((await read(alone)).status).toBe(200);
  });
});

describe('connectRedisInvalidation', () => {
  it('tells the other subscribers, not itself', async () => {
    const dropped: Array<[string, string]> = [];
    const listen = (who: string) => ({
      drop: (key: string) => dropped.push([who, key]),
      dropAll: () => dropped.push([who, '*']),
    });
    const one = await connectRedisInvalidation(REDIS_URL, quiet);
    const two = await connectRedisInvalidation(REDIS_URL, quiet);
    one.subscribe('user', listen('one'));
    two.subscribe('user', listen('two'));
    two.subscribe('score', listen('two-score'));
    one.publish('user', 42);
    for (let i = 0; i < 50 && dropped.length === 0; i++) await sleep(20);
    await sleep(100);
    await Promise.all([one.close(), two.close()]);
    expect(dropped).toEqual([['two', '42']]);
  });

  it('empties the caches when Redis comes back, since invalidations may have been missed', async () => {
    let redis = await startRedisServer();
    let invalidation: RedisInvalidation | undefined;
    try {
      invalidation = await connectRedisInvalidation(redis.url, quiet);
      let emptied = 0;
      invalidation.subscribe('user', { drop() {}, dropAll: () => void emptied++ });
      await redis.stop();
      redis = await startRedisServer(redis.port);
      for (let i = 0; i < 100 && emptied === 0; i++) await sleep(50);
      expect(emptied).toBe(1);
    } finally {
      await invalidation?.close();
      await redis.stop();
    }
  });

  it('refuses to start when Redis does not answer, naming REDIS_URL', async () => {
    const redis = await startRedisServer();
    await redis.stop(); // its port is free now: nothing answers there
    await expect(connectRedisInvalidation(redis.url, quiet, { connectTimeoutMs: 500 })).rejects.toThrow(
      /REDIS_URL: no answer from Redis within 500 ms/,
    );
  });
});
