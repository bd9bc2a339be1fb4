import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, forgeToken, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { anyText, anyValue, bodies, headerText } from './arbitraries.js';
import { type FuzzRequest, judge as judgeRequest } from './http-judge.js';

// Property-based fuzzing of the user-facing HTTP routes (the admin routes: http-admin-fuzz.test.ts): whatever arrives, the answer is never a 5xx, and a refusal
// (4xx) writes nothing. Run counts are sized for CI; a failure prints its seed and the shrunk input.
let service: TestApp;
const RUNS = 200;

beforeAll(async () => {
  service = await startTestApp({
    LOGIN_RATE_MAX: '1000000',
    LOGIN_ID_RATE_MAX: '1000000',
    LOGIN_IP_RATE_MAX: '1000000',
    REGISTER_WAIT_MS: '5000',
  });
});
afterAll(async () => {
  await service?.close();
});

/** Sends one request and checks the two promises: no 5xx, and a refusal changes nothing. */
const judge = (method: string, path: string, request: FuzzRequest) =>
  judgeRequest({ url: service.url, databaseUrl: service.database.url }, method, path, request);

const withHeaders = (extra: fc.Arbitrary<Record<string, string>>) =>
  fc.tuple(bodies(['id', 'name', 'gender', 'password', 'score']), extra).map(([request, headers]) => ({
    ...request,
    headers,
  }));

const contentTypes = fc
  .option(headerText, { nil: undefined })
  .map((value) => (value === undefined ? {} : ({ 'content-type': value } as Record<string, string>)));

describe('HTTP fuzzing: never a 5xx, nothing written on a 4xx', () => {
  it('POST /register', async () => {
    const idempotency = fc.option(headerText, { nil: undefined });
    await fc.assert(
      fc.asyncProperty(withHeaders(contentTypes), idempotency, async (request, key) => {
        const headers = { ...request.headers, ...(key === undefined ? {} : { 'idempotency-key': key }) };
        await judge('POST', '/register', { ...request, headers });
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('POST /login', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(bodies(['id', 'password']), contentTypes)
          .map(([request, headers]) => ({ ...request, headers })),
        async (request) => {
          const response = await judge('POST', '/login', request);
          expect([200, 400, 401, 413, 415, 429]).toContain(response.status);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('GET /user', async () => {
    const now = Math.floor(Date.now() / 1000);
    const authorization = fc.oneof(
      headerText,
      headerText.map((token) => `Bearer ${token}`),
      fc
        .dictionary(fc.constantFrom('userId', 'exp', 'iat', 'nbf', 'sub'), anyValue, { maxKeys: 5 })
        .map((claims) => `Bearer ${forgeToken(claims)}`),
      anyValue.map((userId) => `Bearer ${forgeToken({ userId, iat: now, exp: now + 60 })}`),
    );
    await fc.assert(
      fc.asyncProperty(authorization, async (value) => {
        const response = await judge('GET', '/user', { headers: { authorization: value } });
        expect([200, 400, 401, 404]).toContain(response.status);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('GET /sagas/:gid', async () => {
    const auth = fc.oneof(
      fc.constant(`Bearer ${TEST_ADMIN_TOKEN}`),
      headerText,
      headerText.map((token) => `Bearer ${token}`),
    );
    await fc.assert(
      fc.asyncProperty(anyText, auth, async (gid, authorization) => {
        const response = await judge('GET', `/sagas/${encodeURIComponent(gid)}`, {
          headers: { authorization },
        });
        expect([200, 400, 401, 404, 414]).toContain(response.status);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('GET /healthz and /readyz', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/healthz', '/readyz'),
        fc.string({ maxLength: 30 }),
        headerText,
        async (path, query, header) => {
          const response = await judge('GET', `${path}?${encodeURIComponent(query)}`, {
            headers: { authorization: header, 'content-type': header },
          });
          expect(response.status).toBe(200);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('any method on any path', async () => {
    const segment = fc.oneof(
      anyText.map((text) => encodeURIComponent(text)),
      fc.constantFrom(
        '..',
        '.',
        '',
        '%',
        '%00',
        '%2e%2e',
        'register',
        'user',
        'sagas',
        'login',
        'healthz',
        '%ZZ',
      ),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    await fc.assert(
      fc.asyncProperty(
        method,
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        bodies(['id', 'name']),
        async (verb, segments, request) => {
          const path = `/${segments.join('/')}`;
          if ((verb === 'POST' && /^\/(register|login)$/.test(path)) || verb === 'GET' || verb === 'HEAD') {
            // Real routes are fuzzed above; reads here must just not fail.
            const response = await call(
              service.url,
              verb,
              path,
              verb === 'GET' || verb === 'HEAD' ? {} : request,
            );
            expect(response.status).toBeLessThan(500);
            return;
          }
          await judge(verb, path, request);
        },
      ),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('is still serving afterwards', async () => {
    expect((await call(service.url, 'GET', '/healthz')).status).toBe(200);
    expect(
      (await call(service.url, 'POST', '/register', { body: { name: 'after', gender: 'x' } })).status,
    ).toBe(201);
  });
});
