import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../../src/db/saga-log.js';
import type { SagaStatus } from '../../../src/domain/saga.js';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';

const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
let service: TestApp;
let nextId = 1;
let seq = 0;

beforeAll(async () => {
  // Long backoff and saga timeout: a failing step waits in backoff far longer than any test runs,
  // so only POST /sagas/:gid/retry can make it run again within the test.
  service = await startTestApp({
    RETRY_BASE_MS: '60000',
    RETRY_MAX_MS: '60000',
    SAGA_TIMEOUT_MS: '600000',
    REGISTER_WAIT_MS: '300',
  });
});
afterAll(async () => {
  await service?.close();
});

/** A saga row written straight into the log, owned by a process that is not this one. */
async function insertSaga(type: string, status: SagaStatus, subject: string | null = null): Promise<string> {
  const gid = `${type}-${String(++seq).padStart(4, '0')}-${Math.random().toString(36).slice(2, 6)}`;
  await createSagaLog(service.database.db).create({
    gid,
    type,
    machineVersion: 1,
    input: {},
    requestFingerprint: null,
    traceContext: null,
    subject,
    owner: 'another-process',
    leaseMs: 3_600_000,
    status,
    state: status === 'pending' ? 'pending.waiting' : status,
    progress: { results: {}, steps: {}, nextAttemptAt: null, error: null, lastError: null },
    detail: null,
  });
  return gid;
}

async function get(path: string) {
  return call(service.url, 'GET', path, { headers: admin });
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe('GET /sagas', () => {
  it('walks every saga exactly once, newest first, while sagas are created between pages', async () => {
    const original: string[] = [];
    for (let i = 0; i < 40; i++)
      original.push(await insertSaga('walk', i % 3 === 0 ? 'aborted' : 'succeeded'));
    const seen: string[] = [];
    const createdAt: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/sagas?type=walk&limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await get(query);
      expect(page.status).toBe(200);
      expect(page.body.sagas.length).toBeLessThanOrEqual(7);
      for (const saga of page.body.sagas) {
        seen.push(saga.gid);
        createdAt.push(Date.parse(saga.createdAt));
      }
      cursor = page.body.next;
      pages++;
      // Newer sagas arrive while the operator pages: they must not push old ones into a later page twice.
      await insertSaga('walk', 'succeeded');
      await insertSaga('walk', 'aborted');
    } while (cursor !== null && pages < 50);

    expect(new Set(seen).size).toBe(seen.length);
    for (const gid of original) expect(seen.filter((candidate) => candidate === gid)).toHaveLength(1);
    expect(createdAt).toEqual([...createdAt].sort((a, b) => b - a));
  });

  it('filters by status and type, and finds a saga by gid or by user id', async () => {
    const aborted = await insertSaga('filtered', 'aborted', 'user-77');
    const succeeded = await insertSaga('filtered', 'succeeded', 'user-78');

    const byStatus = await get('/sagas?type=filtered&status=aborted');
    expect(byStatus.body.sagas.map((saga: { gid: string }) => saga.gid)).toEqual([aborted]);
    expect(byStatus.body.sagas[0]).toMatchObject({ type: 'filtered', status: 'aborted', subject: 'user-77' });

    expect((await get(`/sagas?q=${succeeded}`)).body.sagas.map((saga: { gid: string }) => saga.gid)).toEqual([
      succeeded,
    ]);
    expect((await get('/sagas?q=user-77')).body.sagas.map((saga: { gid: string }) => saga.gid)).toEqual([
      aborted,
    ]);
    expect((await get('/sagas?q=user-77&status=succeeded')).body.sagas).toEqual([]);

    const registered = await call(service.url, 'POST', '/register', {
      body: { id: 424242, name: 'Searched', gender: 'x', score: 1 },
    });
    const byUser = await get('/sagas?q=424242');
    expect(byUser.body.sagas).toEqual([
      expect.objectContaining({ gid: registered.body.gid, type: 'register', subject: '424242' }),
    ]);
    expect((await get(`/sagas/${registered.body.gid}`)).body.subject).toBe('424242');

    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await get(`/sagas?since=${future}`)).body).toEqual({ sagas: [], next: null });
    expect((await get('/sagas?since=2000-01-01&type=filtered')).body.sagas).toHaveLength(2);
  });

  it('answers 400 with a message for bad query values and for a tampered cursor', async () => {
    for (const query of [
      'status=bogus',
      'limit=0',
      'limit=201',
      'limit=ten',
      'since=yesterday',
      'since=2026-13-45',
      'unknown=1',
      'cursor=not-a-cursor',
    ]) {
      const response = await get(`/sagas?${query}`);
      expect(response.status, query).toBe(400);
      expect(response.body.error.code, query).toBe('invalid_argument');
      expect(response.body.error.message.length, query).toBeGreaterThan(0);
    }

    for (let i = 0; i < 3; i++) await insertSaga('tamper', 'succeeded');
    const first = await get('/sagas?type=tamper&limit=1');
    const cursor: string = first.body.next;
    expect(typeof cursor).toBe('string');
    const [body = '', mac = ''] = cursor.split('.');
    const decoded = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify([decoded[0], 'zzzz'])).toString('base64url');
    const flipped = `${body.slice(0, -1)}${body.endsWith('A') ? 'B' : 'A'}.${mac}`;
    for (const bad of [`${forged}.${mac}`, flipped, `${body}.${mac.slice(1)}x`]) {
      const response = await get(`/sagas?type=tamper&cursor=${encodeURIComponent(bad)}`);
      expect(response.status).toBe(400);
      expect(response.body.error.message).toMatch(/cursor/);
    }
    expect((await get(`/sagas?type=tamper&limit=1&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
  });

  it('answers 401 without the admin token', async () => {
    expect((await call(service.url, 'GET', '/sagas')).status).toBe(401);
    expect((await call(service.url, 'GET', '/sagas/stats')).status).toBe(401);
    expect((await call(service.url, 'POST', '/sagas/x/retry')).status).toBe(401);
  });
});

describe('POST /sagas/:gid/retry', () => {
  it('runs a step waiting in backoff at once after the outage is fixed (202)', async () => {
    const sql = (query: string) => service.database.pool.query(query);
    await sql('RENAME TABLE user_score TO user_score_away'); // the score service's database breaks
    let gid: string;
    try {
      const registered = await call(service.url, 'POST', '/register', {
        body: { id: nextId++ + 1000, name: 'Patient', gender: 'x', score: 3 },
      });
      expect(registered.status).toBe(202);
      gid = registered.body.gid;
      const waiting = await eventually(
        () => get(`/sagas/${gid}`),
        (response) => response.body.state === 'userSaved.waiting',
      );
      expect(waiting.body).toMatchObject({ status: 'pending', state: 'userSaved.waiting' });
      expect(Date.parse(waiting.body.nextAttemptAt) - Date.now()).toBeGreaterThan(20_000);
    } finally {
      await sql('RENAME TABLE user_score_away TO user_score'); // the operator fixes it
    }

    const retried = await call(service.url, 'POST', `/sagas/${gid}/retry`, { headers: admin });
    expect(retried.status).toBe(202);
    expect(retried.body).toEqual({ gid, retried: true });

    // The backoff had 30 s or more to go; the saga finishes well before that because of the retry.
    const done = await eventually(
      () => get(`/sagas/${gid}`),
      (response) => response.body.status === 'succeeded',
    );
    expect(done.body.status).toBe('succeeded');
    const attempts = done.body.timeline.filter(
      (attempt: { step: string }) => attempt.step === 'saveUserScore',
    );
    expect(attempts.map((attempt: { outcome: string }) => attempt.outcome)).toEqual([
      'retrying',
      'succeeded',
    ]);
  });

  it('answers 404 for an unknown gid and 409 for a final saga', async () => {
    const missing = await call(service.url, 'POST', '/sagas/no-such-saga/retry', { headers: admin });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('saga_not_found');

    const finished = await call(service.url, 'POST', '/register', {
      body: { id: nextId++ + 1000, name: 'Done', gender: 'x', score: 10 },
    });
    const final = await call(service.url, 'POST', `/sagas/${finished.body.gid}/retry`, { headers: admin });
    expect(final.status).toBe(409);
    expect(final.body.error).toMatchObject({ code: 'saga_final' });
    expect(final.body.error.message).toMatch(/aborted/);
  });

  it('answers 409 when the step is being called (nothing waits) and when another process runs the saga', async () => {
    const blocker = await mysql.createConnection({ uri: service.database.url });
    let gid: string;
    try {
      await blocker.query('LOCK TABLES user WRITE'); // saveUser now hangs inside its call
      const registered = await call(service.url, 'POST', '/register', {
        body: { id: nextId++ + 1000, name: 'Busy', gender: 'x', score: 1 },
      });
      gid = registered.body.gid;
      expect((await get(`/sagas/${gid}`)).body.state).toBe('pending.calling');
      const busy = await call(service.url, 'POST', `/sagas/${gid}/retry`, { headers: admin });
      expect(busy.status).toBe(409);
      expect(busy.body.error.code).toBe('saga_not_waiting');
    } finally {
      await blocker.query('UNLOCK TABLES');
      await blocker.end();
    }
    await eventually(
      () => get(`/sagas/${gid}`),
      (response) => response.body.status === 'succeeded',
    );

    const elsewhere = await insertSaga('register', 'pending');
    const remote = await call(service.url, 'POST', `/sagas/${elsewhere}/retry`, { headers: admin });
    expect(remote.status).toBe(409);
    expect(remote.body.error.code).toBe('saga_not_here');
    expect(remote.body.error.message).toMatch(/another-process/);
  });
});

describe('GET /sagas/statuses', () => {
  it('lists the statuses the log uses, in order, with the final ones marked (the dashboard reads them)', async () => {
    const response = await get('/sagas/statuses');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      statuses: [
        { name: 'pending', final: false },
        { name: 'compensating', final: false },
        { name: 'succeeded', final: true },
        { name: 'aborted', final: true },
      ],
    });
    expect((await call(service.url, 'GET', '/sagas/statuses')).status).toBe(401);
  });
});

describe('GET /sagas/stats', () => {
  it('matches the rows: counts by status and type, the oldest running saga, finished sagas of the window', async () => {
    // Each coordinator adds its finished sagas to the per-minute counts every 2 s: let the earlier tests'
    // sagas land first.
    await sleep(2_500);
    const before = await get('/sagas/stats?minutes=5');
    for (const score of [1, 10, 2, 10, 3]) {
      await call(service.url, 'POST', '/register', {
        body: { id: nextId++ + 1000, name: 'Counted', gender: 'x', score },
      });
    }
    const oldest = await insertSaga('stats', 'compensating');
    await service.database.pool.query('UPDATE saga SET created_at = NOW(3) - INTERVAL 2 DAY WHERE gid = ?', [
      oldest,
    ]);

    const stats = await eventually(
      () => get('/sagas/stats?minutes=5'),
      (response) => response.body.window.succeeded - before.body.window.succeeded >= 3,
    );
    expect(stats.status).toBe(200);
    const [rows] = await service.database.pool.query<mysql.RowDataPacket[]>(
      'SELECT status, type, COUNT(*) AS n FROM saga IGNORE INDEX (idx_saga_status_type_created) GROUP BY status, type',
    );
    const byStatus: Record<string, number> = { pending: 0, compensating: 0, succeeded: 0, aborted: 0 };
    const byType: Record<string, number> = {};
    for (const row of rows) {
      byStatus[row.status] = (byStatus[row.status] ?? 0) + Number(row.n);
      byType[row.type] = (byType[row.type] ?? 0) + Number(row.n);
    }
    expect(stats.body.byStatus).toEqual(byStatus);
    expect(stats.body.byType).toEqual(byType);
    expect(stats.body.total).toBe(Object.values(byStatus).reduce((a, b) => a + b, 0));
    expect(stats.body.oldestActive).toMatchObject({ gid: oldest, status: 'compensating', type: 'stats' });
    expect(stats.body.oldestActive.ageMs).toBeGreaterThanOrEqual(2 * 86_400_000 - 5_000);

    expect(stats.body.window.minutes).toBe(5);
    expect(stats.body.window.perMinute).toHaveLength(5);
    expect(stats.body.window.succeeded - before.body.window.succeeded).toBe(3);
    expect(stats.body.window.aborted - before.body.window.aborted).toBe(2);
    // What the coordinator finished, as it added it to the per-minute counts (rows written straight into
    // the log above were finished by no coordinator).
    const [[finished]] = await service.database.pool.query<mysql.RowDataPacket[]>(
      "SELECT SUM(IF(status = 'succeeded', count, 0)) AS ok, SUM(IF(status = 'aborted', count, 0)) AS bad FROM saga_finished_minute WHERE minute >= ?",
      [new Date(stats.body.window.perMinute[0].minute)],
    );
    expect(stats.body.window.succeeded).toBe(Number(finished?.ok));
    expect(stats.body.window.aborted).toBe(Number(finished?.bad));
    expect(stats.body.window.abortRate).toBeCloseTo(
      stats.body.window.aborted / (stats.body.window.aborted + stats.body.window.succeeded),
    );
  });

  it('answers 400 for a window out of range', async () => {
    for (const minutes of ['0', '61', 'x']) {
      const response = await get(`/sagas/stats?minutes=${minutes}`);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_argument');
    }
  });
});
