import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { startAppOn } from '../helpers/app-on.js';
import { createTestDatabase } from '../helpers/database.js';
import { dtmMetadata, rawCall, rawClients } from '../helpers/grpc.js';
import { parseExposition, type Sample, sampleValue } from '../helpers/prometheus.js';
import { freePort } from '../helpers/service-process.js';

let service: TestApp;
const gids: string[] = [];
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

// The monolith calling its own gRPC servers: one process shows client and server gRPC metrics both.
beforeAll(async () => {
  const [userPort, scorePort] = [await freePort(), await freePort()];
  service = await startTestApp({
    USER_GRPC_ADDR: `127.0.0.1:${userPort}`,
    SCORE_GRPC_ADDR: `127.0.0.1:${scorePort}`,
    USER_SERVICE: `grpc://127.0.0.1:${userPort}`,
    SCORE_SERVICE: `grpc://127.0.0.1:${scorePort}`,
  });
});
afterAll(async () => {
  await service?.close();
});

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${service.url}/metrics`, { headers: admin });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parseExposition(await response.text());
}

async function register(body: object) {
  const response = await call(service.url, 'POST', '/register', { body });
  gids.push(response.body.gid);
  return response;
}

describe('GET /metrics', () => {
  it('answers 401 without the admin token', async () => {
    const response = await call(service.url, 'GET', '/metrics');
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
  });

  it('counts a succeeded and an aborted saga, their steps and the compensation', async () => {
    const before = await scrape();
    expect(sampleValue(before, 'saga_aborted_total', { type: 'register' })).toBe(0);

    expect(
      (await register({ id: 101, name: 'Ada', gender: 'female', password: 'pw-ada-123', score: 5 })).status,
    ).toBe(201);
    expect((await register({ id: 102, name: 'Bob', gender: 'male', score: 10 })).status).toBe(422);

    const after = await scrape();
    expect(sampleValue(after, 'saga_started_total', { type: 'register' })).toBe(2);
    expect(sampleValue(after, 'saga_succeeded_total', { type: 'register' })).toBe(1);
    expect(sampleValue(after, 'saga_aborted_total', { type: 'register' })).toBe(1);
    expect(sampleValue(after, 'saga_in_flight')).toBe(0);
    expect(sampleValue(after, 'saga_duration_seconds_count', { type: 'register', status: 'aborted' })).toBe(
      1,
    );
    const step = (step: string, op: string, outcome: string) =>
      sampleValue(after, 'saga_step_duration_seconds_count', { type: 'register', step, op, outcome });
    expect(step('saveUser', 'action', 'ok')).toBe(2);
    expect(step('saveUserScore', 'action', 'ok')).toBe(1);
    expect(step('saveUserScore', 'action', 'failed')).toBe(1);
    expect(step('saveUserScoreCallback', 'compensate', 'ok')).toBe(1);
    expect(step('saveUserCallback', 'compensate', 'ok')).toBe(1);
    expect(
      sampleValue(after, 'saga_compensations_total', { type: 'register', step: 'saveUserCallback' }),
    ).toBe(1);
    // A refusal is compensated, never retried.
    expect(
      sampleValue(after, 'saga_step_retries_total', {
        type: 'register',
        step: 'saveUserScore',
        op: 'action',
      }),
    ).toBe(0);
    expect(sampleValue(after, 'saga_recovery_takeovers_total', { type: 'register' })).toBe(0);

    const http = (status: string) =>
      sampleValue(after, 'http_request_duration_seconds_count', {
        route: '/register',
        method: 'POST',
        status_code: status,
      });
    expect(http('201')).toBe(1);
    expect(http('422')).toBe(1);
  });

  it('times gRPC calls on the client and the server side by method and code', async () => {
    const samples = await scrape();
    expect(
      sampleValue(samples, 'grpc_client_handling_seconds_count', {
        method: 'user.User/saveUser',
        code: 'OK',
      }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'grpc_server_handling_seconds_count', {
        method: 'user.User/saveUser',
        code: 'OK',
      }),
    ).toBe(2);
    expect(
      sampleValue(samples, 'grpc_client_handling_seconds_count', {
        method: 'score.UserScore/saveUserScore',
        code: 'ABORTED',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'grpc_server_handling_seconds_count', {
        method: 'score.UserScore/saveUserScore',
        code: 'ABORTED',
      }),
    ).toBe(1);
  });

  it('counts cache misses and hits on /login and GET /user', async () => {
    // Login reads the user (its row's creation time goes into the token): the user's miss is counted
    // there, the score's on the first GET /user.
    const before = await scrape();
    const login = await call(service.url, 'POST', '/login', { body: { id: 101, password: 'pw-ada-123' } });
    expect(login.status).toBe(200);
    const bearer = { authorization: `Bearer ${login.body.token}` };
    expect((await call(service.url, 'GET', '/user', { headers: bearer })).status).toBe(200);
    const afterFirst = await scrape();
    expect((await call(service.url, 'GET', '/user', { headers: bearer })).status).toBe(200);
    const afterSecond = await scrape();
    for (const cache of ['user', 'score']) {
      expect(
        sampleValue(afterFirst, 'cache_misses_total', { cache }) -
          sampleValue(before, 'cache_misses_total', { cache }),
      ).toBe(1);
      expect(
        sampleValue(afterSecond, 'cache_hits_total', { cache }) -
          sampleValue(afterFirst, 'cache_hits_total', { cache }),
      ).toBe(1);
    }
  });

  it('reports the database pool by name', async () => {
    const samples = await scrape();
    const pools = samples.filter((sample) => sample.name === 'db_pool_max_connections');
    expect(pools.length).toBeGreaterThan(0);
    for (const pool of pools) expect(pool.value).toBeGreaterThan(0);
    const pool = pools[0]!.labels.pool as string;
    expect(sampleValue(samples, 'db_pool_connections', { pool })).toBeGreaterThan(0);
  });

  it('never labels a series with a gid, a user id or a raw URL', async () => {
    expect((await call(service.url, 'GET', `/sagas/${gids[0]}`, { headers: admin })).status).toBe(200);
    expect((await call(service.url, 'GET', '/no/such/path/12345')).status).toBe(404);
    const samples = await scrape();
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', {
        route: '/sagas/:gid',
        method: 'GET',
        status_code: '200',
      }),
    ).toBe(1);
    expect(
      sampleValue(samples, 'http_request_duration_seconds_count', {
        route: 'unmatched',
        method: 'GET',
        status_code: '404',
      }),
    ).toBe(1);
    expect(gids).toHaveLength(2);
    for (const sample of samples) {
      for (const value of Object.values(sample.labels)) {
        for (const gid of gids) expect(value).not.toContain(gid);
        expect(value).not.toContain('12345');
        expect(value).not.toMatch(/^\/.*\/\d+/); // a route label is a pattern, never a URL with an id
      }
    }
  });
});

describe('metrics of retries and takeovers', () => {
  it('counts a step retried while its service is down, the saga in flight, and its takeover by another app', async () => {
    const database = await createTestDatabase();
    const scrapeOf = async (url: string) =>
      parseExposition(await (await fetch(`${url}/metrics`, { headers: admin })).text());
    try {
      // The user service is unreachable: saveUser fails transiently and waits in backoff.
      const first = await startAppOn(database, {
        ROLES: 'api',
        USER_SERVICE: 'grpc://127.0.0.1:1',
        GRPC_DEADLINE_MS: '200',
        REGISTER_WAIT_MS: '0',
        RETRY_BASE_MS: '20',
        RETRY_MAX_MS: '40',
      });
      const pending = await call(first.url, 'POST', '/register', {
        body: { id: 501, name: 'Rae', gender: 'x' },
      });
      expect(pending.status).toBe(202);
      let samples: Sample[] = [];
      for (let tries = 0; tries < 100; tries++) {
        samples = await scrapeOf(first.url);
        if (
          sampleValue(samples, 'saga_step_retries_total', {
            type: 'register',
            step: 'saveUser',
            op: 'action',
          }) >= 2
        )
          break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(
        sampleValue(samples, 'saga_step_retries_total', { type: 'register', step: 'saveUser', op: 'action' }),
      ).toBeGreaterThanOrEqual(2);
      expect(sampleValue(samples, 'saga_in_flight')).toBe(1);
      expect(
        sampleValue(samples, 'grpc_client_handling_seconds_count', {
          method: 'user.User/saveUser',
          code: 'UNAVAILABLE',
        }),
      ).toBeGreaterThanOrEqual(1);
      await first.app.close();

      // A graceful stop releases the lease; the next app takes the saga over and finishes it.
      const second = await startAppOn(database, { RECOVERY_INTERVAL_MS: '100' });
      try {
        for (let tries = 0; tries < 100; tries++) {
          samples = await scrapeOf(second.url);
          if (sampleValue(samples, 'saga_succeeded_total', { type: 'register' }) === 1) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(sampleValue(samples, 'saga_recovery_takeovers_total', { type: 'register' })).toBe(1);
        expect(sampleValue(samples, 'saga_succeeded_total', { type: 'register' })).toBe(1);
        // Resumed, not started, here.
        expect(sampleValue(samples, 'saga_started_total', { type: 'register' })).toBe(0);
      } finally {
        await second.app.close();
      }
    } finally {
      await database.drop();
    }
  });

  it('serves a service-only process its probes and its own /metrics on METRICS_PORT', async () => {
    const database = await createTestDatabase(['user', 'barrier']);
    const grpcPort = await freePort();
    const { app, url } = await startAppOn(database, {
      ROLES: 'user',
      USER_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
      METRICS_PORT: '0',
    });
    try {
      const clients = rawClients(`127.0.0.1:${grpcPort}`);
      const reply = await rawCall(clients.user.getUser.bind(clients.user), { id: '424242' }, dtmMetadata({}));
      expect(reply).toMatchObject({ ok: false, code: grpc.status.NOT_FOUND });
      clients.user.close();

      expect((await fetch(`${url}/readyz`)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      // Only probes and metrics here: the API belongs to the api role.
      expect((await fetch(`${url}/register`, { method: 'POST' })).status).toBe(404);
      const response = await fetch(`${url}/metrics`, { headers: admin });
      const samples = parseExposition(await response.text());
      expect(
        sampleValue(samples, 'grpc_server_handling_seconds_count', {
          method: 'user.User/getUser',
          code: 'NOT_FOUND',
        }),
      ).toBe(1);
      expect(sampleValue(samples, 'db_pool_max_connections', { pool: 'user+barrier' })).toBeGreaterThan(0);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});
