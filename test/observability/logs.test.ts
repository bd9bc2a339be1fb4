import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { call } from '../helpers/app.js';
import { startAppOn } from '../helpers/app-on.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let app: App;
let url: string;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  // The service's own logger, writing JSON lines here instead of stdout.
  const logger = createLogger({
    level: 'debug',
    env: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
  });
  ({ app, url } = await startAppOn(database, {}, logger));
});
afterAll(async () => {
  await app?.close();
  await database?.drop();
});

describe('logs', () => {
  it('names the saga, step, op and attempt on a failing step’s line', async () => {
    const refused = await call(url, 'POST', '/register', {
      body: { id: 401, name: 'Lu', gender: 'x', score: 10 },
    });
    expect(refused.status).toBe(422);
    const line = lines.find(
      (entry) => entry.msg === 'step refused; compensating' && entry.gid === refused.body.gid,
    );
    expect(line).toMatchObject({
      gid: refused.body.gid,
      type: 'register',
      step: 'saveUserScore',
      op: 'action',
      attempt: 1,
    });
    expect(line?.error).toMatchObject({ code: 'score_rejected' });
  });

  it('keeps a sane x-request-id, echoes it, and puts it on every line of the request', async () => {
    const response = await call(url, 'POST', '/register', {
      body: { id: 'not a number' },
      headers: { 'x-request-id': 'trace-4f2a.9' },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-request-id')).toBe('trace-4f2a.9');
    const mine = lines.filter((entry) => entry.reqId === 'trace-4f2a.9');
    expect(mine.map((entry) => entry.msg)).toEqual(
      expect.arrayContaining(['request refused', 'request completed']),
    );
  });

  it('replaces an unusable x-request-id with a fresh one', async () => {
    const response = await call(url, 'GET', '/healthz', { headers: { 'x-request-id': 'a b\tc"d' } });
    expect(response.status).toBe(200);
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.some((entry) => entry.reqId === id && entry.msg === 'request completed')).toBe(true);
  });

  it('generates a request id when none is sent, distinct per request', async () => {
    const first = await call(url, 'GET', '/healthz');
    const second = await call(url, 'GET', '/healthz');
    expect(first.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.headers.get('x-request-id')).not.toBe(first.headers.get('x-request-id'));
  });
});
