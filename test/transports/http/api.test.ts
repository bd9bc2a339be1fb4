import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, forgeToken, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../../helpers/app.js';
import { queryOnce } from '../../helpers/database.js';

let service: TestApp;
let nextId = 10_000;

beforeAll(async () => {
  service = await startTestApp({ LOGIN_RATE_MAX: '5', LOGIN_IP_RATE_MAX: '1000' });
});
afterAll(async () => {
  await service?.close();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(service.url, 'POST', path, { body, headers });
const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

async function rowCounts(id: number) {
  const [users] = await queryOnce(service.database.url, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [id]);
  const [scores] = await queryOnce(
    service.database.url,
    'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?',
    [id],
  );
  return { users: Number(users?.n), scores: Number(scores?.n) };
}

async function totalRows() {
  const [row] = await queryOnce(
    service.database.url,
    'SELECT (SELECT COUNT(*) FROM user) + (SELECT COUNT(*) FROM user_score) + (SELECT COUNT(*) FROM saga) + (SELECT COUNT(*) FROM barrier) AS n',
  );
  return Number(row?.n);
}

describe('POST /register', () => {
  it('keeps the sealed password hash only while its saga runs, bound to its gid', async () => {
    const id = nextId++;
    const body = { id, name: 'Sealed', gender: 'x', password: 'a sealed password', score: 2 };
    const first = await post('/register', body, { 'idempotency-key': `sealed-${id}` });
    expect(first.status).toBe(201);
    const [row] = await queryOnce(service.database.url, 'SELECT input FROM saga WHERE gid = ?', [
      first.body.gid,
    ]);
    expect(JSON.parse(String(row?.input))).toMatchObject({ user: { id }, sealedPasswordHash: null });
    // The password went to the user row (login works), and a replay of the request still answers.
    expect((await post('/login', { id, password: 'a sealed password' })).status).toBe(200);
    const again = await post('/register', body, { 'idempotency-key': `sealed-${id}` });
    expect(again.body).toEqual(first.body);
  });

  it('returns 201 with the saga id, the user and the score, and stores both rows', async () => {
    const id = nextId++;
    const response = await post('/register', { id, name: 'Ada', gender: 'female', score: 7 });

    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      gid: expect.any(String),
      status: 'succeeded',
      user: { id, name: 'Ada', gender: 'female' },
      score: 7,
    });
    expect(await rowCounts(id)).toEqual({ users: 1, scores: 1 });
  });

  it('generates an id when none is given', async () => {
    const response = await post('/register', { name: 'No Id', gender: 'x' });
    expect(response.status).toBe(201);
    expect(Number.isSafeInteger(response.body.user.id) && response.body.user.id > 0).toBe(true);
    expect(response.body.score).toBe(0);
  });

  it('returns 422 for score 10, compensates, and leaves neither row', async () => {
    const id = nextId++;
    const response = await post('/register', { id, name: 'Ten', gender: 'x', score: 10 });

    expect(response.status).toBe(422);
    expect(response.body).toEqual({
      gid: expect.any(String),
      status: 'aborted',
      error: { code: 'score_rejected', message: "user score can't equal 10" },
    });
    expect(await rowCounts(id)).toEqual({ users: 0, scores: 0 });
  });

  it('returns 409 for a taken id and leaves the first user intact', async () => {
    const id = nextId++;
    await post('/register', { id, name: 'First', gender: 'f', score: 1 });
    const response = await post('/register', { id, name: 'Second', gender: 'm', score: 2 });

    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ status: 'aborted', error: { code: 'duplicate_user' } });
    const rows = await queryOnce(service.database.url, 'SELECT name FROM user WHERE id = ?', [id]);
    const scores = await queryOnce(service.database.url, 'SELECT score FROM user_score WHERE user_id = ?', [
      id,
    ]);
    expect(rows.map((row) => row.name)).toEqual(['First']);
    expect(scores.map((row) => row.score)).toEqual([1]);
  });

  it('lets exactly one of 12 concurrent registrations of one id succeed', async () => {
    const id = nextId++;
    const responses = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        post('/register', { id, name: `racer ${index}`, gender: 'x' }),
      ),
    );
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([201, ...Array(11).fill(409)]);
    expect(await rowCounts(id)).toEqual({ users: 1, scores: 1 });
  });

  describe('with an Idempotency-Key', () => {
    it('returns the same saga for the same key and body, and registers once', async () => {
      const id = nextId++;
      const body = { id, name: 'Idem', gender: 'x', password: 'a long password', score: 3 };
      const first = await post('/register', body, { 'idempotency-key': `key-${id}` });
      const second = await post('/register', body, { 'idempotency-key': `key-${id}` });

      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body).toEqual(first.body);
      const sagas = await queryOnce(
        service.database.url,
        'SELECT COUNT(*) AS n FROM saga WHERE input LIKE ?',
        [`%"id":${id},%`],
      );
      expect(Number(sagas[0]?.n)).toBe(1);
    });

    it('replays an aborted outcome too', async () => {
      const id = nextId++;
      const body = { id, name: 'Idem Ten', gender: 'x', score: 10 };
      const first = await post('/register', body, { 'idempotency-key': `ten-${id}` });
      const second = await post('/register', body, { 'idempotency-key': `ten-${id}` });
      expect([first.status, second.status]).toEqual([422, 422]);
      expect(second.body.gid).toBe(first.body.gid);
    });

    it('answers 422 for the same key with another body, or another password', async () => {
      const id = nextId++;
      const body = { id, name: 'Idem', gender: 'x', password: 'first password' };
      await post('/register', body, { 'idempotency-key': `reuse-${id}` });

      const otherBody = await post(
        '/register',
        { ...body, name: 'Other' },
        { 'idempotency-key': `reuse-${id}` },
      );
      const otherPassword = await post(
        '/register',
        { ...body, password: 'second password' },
        { 'idempotency-key': `reuse-${id}` },
      );
      expect(otherBody.status).toBe(422);
      expect(otherBody.body.error.code).toBe('idempotency_key_reused');
      expect(otherPassword.status).toBe(422);
    });

    it('starts one saga for concurrent requests with one key', async () => {
      const id = nextId++;
      const body = { id, name: 'Concurrent', gender: 'x' };
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => post('/register', body, { 'idempotency-key': `race-${id}` })),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(6).fill(201));
      expect(new Set(responses.map((response) => response.body.gid)).size).toBe(1);
    });
  });

  describe('refuses bad input with a 4xx and writes nothing', () => {
    const cases: Array<[string, { body?: unknown; raw?: string; headers?: Record<string, string> }, number]> =
      [
        ['malformed JSON', { raw: '{"name": "x", ' }, 400],
        ['an empty body', { raw: '' }, 400],
        ['a JSON array', { body: [1, 2] }, 400],
        ['a missing name', { body: { gender: 'x' } }, 400],
        ['a name of the wrong type', { body: { name: 5, gender: 'x' } }, 400],
        ['a score as a string', { body: { name: 'n', gender: 'x', score: '5' } }, 400],
        ['a fractional score', { body: { name: 'n', gender: 'x', score: 1.5 } }, 400],
        ['an unknown field', { body: { name: 'n', gender: 'x', admin: true } }, 400],
        ['a 65-character name', { body: { name: 'x'.repeat(65), gender: 'x' } }, 400],
        ['a blank name', { body: { name: '   ', gender: 'x' } }, 400],
        ['a short password', { body: { name: 'n', gender: 'x', password: 'short' } }, 400],
        ['id 0', { body: { id: 0, name: 'n', gender: 'x' } }, 400],
        ['id above 2^53−1', { body: { id: 2 ** 53, name: 'n', gender: 'x' } }, 400],
        ['a body over 16 KiB', { body: { name: 'n', gender: 'x', pad: 'x'.repeat(20_000) } }, 413],
        [
          'a form body',
          { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
          415,
        ],
        [
          'a bad Idempotency-Key',
          { body: { name: 'n', gender: 'x' }, headers: { 'idempotency-key': 'has space' } },
          400,
        ],
      ];
    it.each(cases)('%s', async (_name, request, status) => {
      const before = await totalRows();
      const response = await call(service.url, 'POST', '/register', request);
      expect(response.status).toBe(status);
      expect(response.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
      expect(await totalRows()).toBe(before);
    });
  });

  it('accepts a name of 64 characters outside the BMP (counted as characters, not UTF-16 units)', async () => {
    const response = await post('/register', { name: '😀'.repeat(64), gender: 'x' });
    expect(response.status).toBe(201);
  });
});

describe('POST /login and GET /user', () => {
  const password = 'correct horse battery';
  let id: number;
  let token: string;

  beforeAll(async () => {
    id = nextId++;
    await post('/register', { id, name: 'Grace', gender: 'female', password, score: 99 });
  });

  it('issues an HS256 token with userId, iat and exp', async () => {
    const response = await post('/login', { id, password });
    expect(response.status).toBe(200);
    token = response.body.token;
    const [header, payload] = token
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    expect(header.alg).toBe('HS256');
    expect(payload.userId).toBe(id);
    expect(payload.exp - payload.iat).toBe(86_400);
    expect(new Date(response.body.expiresAt).getTime()).toBe(payload.exp * 1000);
  });

  it('returns the user and the score for a valid token, never the password hash', async () => {
    const response = await call(service.url, 'GET', '/user', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id, name: 'Grace', gender: 'female', score: 99 });
  });

  it('answers 401 with one message for a wrong password and an unknown id', async () => {
    const wrong = await post('/login', { id, password: 'wrong password' });
    const unknown = await post('/login', { id: 9_999_999_999, password });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('answers 401 for a user registered without a password', async () => {
    const other = nextId++;
    await post('/register', { id: other, name: 'No Password', gender: 'x' });
    expect((await post('/login', { id: other, password: 'anything goes' })).status).toBe(401);
  });

  it('rate-limits logins for one id from one client with 429', async () => {
    const target = nextId++;
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++)
      statuses.push((await post('/login', { id: target, password: 'guessing pw' })).status);
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(401));
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const badTokens: Array<[string, () => string]> = [
    [
      'a tampered payload',
      () =>
        token.replace(
          /\.[^.]+\./,
          `.${Buffer.from(JSON.stringify({ userId: 1, iat: now(), exp: now() + 60 })).toString('base64url')}.`,
        ),
    ],
    [
      'alg none',
      () =>
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ userId: id, iat: now(), exp: now() + 60 })).toString('base64url')}.`,
    ],
    [
      'another secret',
      () =>
        forgeToken(
          { userId: id, iat: now(), exp: now() + 60 },
          { secret: 'not-our-secret-not-our-secret-!!' },
        ),
    ],
    ['an expired token', () => forgeToken({ userId: id, iat: now() - 120, exp: now() - 60 })],
    [
      'a token not valid yet',
      () => forgeToken({ userId: id, iat: now(), nbf: now() + 600, exp: now() + 900 }),
    ],
    ['no userId claim', () => forgeToken({ iat: now(), exp: now() + 60 })],
    ['a userId that is not an id', () => forgeToken({ userId: 'abc', iat: now(), exp: now() + 60 })],
    [
      'HS384 with our secret',
      () => forgeToken({ userId: id, iat: now(), exp: now() + 60 }, { header: { alg: 'HS384', typ: 'JWT' } }),
    ],
    ['garbage', () => 'not.a.token'],
  ];
  it.each(badTokens)('answers 401 for %s', async (_name, make) => {
    const response = await call(service.url, 'GET', '/user', {
      headers: { authorization: `Bearer ${make()}` },
    });
    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthenticated');
  });

  it('answers 401 without a token', async () => {
    expect((await call(service.url, 'GET', '/user')).status).toBe(401);
  });

  it('answers 404 for a valid token whose user no longer exists', async () => {
    const ghost = forgeToken({ userId: 123_456_789, iat: now(), exp: now() + 60 });
    const response = await call(service.url, 'GET', '/user', {
      headers: { authorization: `Bearer ${ghost}` },
    });
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('user_not_found');
  });
});

describe('GET /sagas/:gid', () => {
  it('shows an aborted saga with its steps and compensations to the admin', async () => {
    const registered = await post('/register', {
      id: nextId++,
      name: 'Seen',
      gender: 'x',
      password: 'secret password',
      score: 10,
    });
    const response = await call(service.url, 'GET', `/sagas/${registered.body.gid}`, { headers: admin });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      gid: registered.body.gid,
      type: 'register',
      status: 'aborted',
      state: 'aborted',
      error: { code: 'score_rejected' },
      steps: [
        { name: 'saveUser', op: 'action', status: 'succeeded', attempts: 1, lastError: null },
        {
          name: 'saveUserScore',
          op: 'action',
          status: 'failed',
          attempts: 1,
          lastError: { code: 'score_rejected' },
        },
        { name: 'saveUserScoreCallback', op: 'compensate', status: 'succeeded', attempts: 1 },
        { name: 'saveUserCallback', op: 'compensate', status: 'succeeded', attempts: 1 },
      ],
    });
    expect(JSON.stringify(response.body)).not.toMatch(/scrypt|secret password/);
    // The sealed hash went with the saga's end; the view says a password was given.
    expect(response.body.input).toMatchObject({ password: '[cleared]' });
  });

  it('answers 401 without the admin token and 404 for an unknown gid', async () => {
    expect((await call(service.url, 'GET', '/sagas/whatever')).status).toBe(401);
    expect(
      (await call(service.url, 'GET', '/sagas/whatever', { headers: { authorization: 'Bearer wrong' } }))
        .status,
    ).toBe(401);
    const missing = await call(service.url, 'GET', '/sagas/no-such-gid', { headers: admin });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('saga_not_found');
  });
});

describe('health', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await call(service.url, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await call(service.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: { database: true, migrations: true, recovery: true },
    });
  });

  it('answers 404 in the error envelope for an unknown route', async () => {
    const response = await call(service.url, 'GET', '/nope');
    expect(response.status).toBe(404);
    expect(response.body).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope' } });
  });
});
