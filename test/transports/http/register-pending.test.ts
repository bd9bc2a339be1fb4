import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { startServiceProcess } from '../../helpers/service-process.js';

describe('a registration that is not final in time', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp({ REGISTER_WAIT_MS: '0' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('answers 202 with Location, and the saga goes on to succeed', async () => {
    const response = await call(service.url, 'POST', '/register', { body: { name: 'Later', gender: 'x' } });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ gid: expect.any(String), status: 'pending' });
    expect(response.headers.get('location')).toBe(`/sagas/${response.body.gid}`);

    let status = 'pending';
    for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
      await sleep(20);
      const saga = await call(service.url, 'GET', response.headers.get('location') as string, {
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      });
      status = saga.body.status;
    }
    expect(status).toBe('succeeded');
  });
});

describe('graceful shutdown', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('stops on SIGTERM with exit code 0 after finishing its work', async () => {
    const service = await startServiceProcess({ DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    const registered = await fetch(`${service.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Before stop', gender: 'x' }),
    });
    expect(registered.status).toBe(201);
    const code = await service.kill('SIGTERM');
    expect(code).toBe(0);
    expect(service.output()).toMatch(/"msg":"stopped"/);
  }, 60_000);
});
