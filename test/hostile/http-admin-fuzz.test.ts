import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCursorCodec } from '../../src/transports/http/saga-cursor.js';
import { call, startTestApp, TEST_ADMIN_TOKEN, type TestApp } from '../helpers/app.js';
import { anyText, bodies, headerText } from './arbitraries.js';
import { type FuzzRequest, judge as judgeRequest } from './http-judge.js';

// Property-based fuzzing of the admin HTTP routes (saga listing, stats, retry, diagrams, metrics) and the
// public pages beside them (dashboard, docs): never a 5xx, nothing written on a 4xx (reads write nothing
// at all), and nothing but a 401 (or an earlier refusal of the request's shape) without the admin token.
let service: TestApp;
const RUNS = 150;
const ADMIN = `Bearer ${TEST_ADMIN_TOKEN}`;

/** Gids of final sagas: retrying them must answer 409 `saga_final` and change nothing. */
const finalGids: string[] = [];
/** A cursor this API returned, for tampering. */
let validCursor = '';

beforeAll(async () => {
  service = await startTestApp({ REGISTER_WAIT_MS: '5000' });
  for (const score of [1, 10, 2]) {
    // score 10 is the tutorial's rejected score: an aborted saga beside the succeeded ones.
    const answer = await call(service.url, 'POST', '/register', {
      body: { name: `fuzz ${score}`, gender: 'x', password: 'fuzz-password-1', score },
    });
    expect([201, 422]).toContain(answer.status);
  }
  const page = await call(service.url, 'GET', '/sagas?limit=1', { headers: { authorization: ADMIN } });
  expect(page.status).toBe(200);
  validCursor = page.body.next;
  expect(typeof validCursor).toBe('string');
  const all = await call(service.url, 'GET', '/sagas', { headers: { authorization: ADMIN } });
  for (const saga of all.body.sagas) {
    expect(['succeeded', 'aborted']).toContain(saga.status);
    finalGids.push(saga.gid);
  }
  expect(finalGids).toHaveLength(3);
});
afterAll(async () => {
  await service?.close();
});

/** The answers a property has produced ("status code"): each property checks it reached its cases. */
let seen = new Set<string>();
beforeEach(() => {
  seen = new Set();
});

async function judge(method: string, path: string, request: FuzzRequest = {}, options = {}) {
  const response = await judgeRequest(
    { url: service.url, databaseUrl: service.database.url },
    method,
    path,
    request,
    options,
  );
  seen.add(`${response.status}${response.status >= 400 ? ` ${response.body.error.code}` : ''}`);
  return response;
}

/** The fuzzing was not vacuous: these answers all came up. */
const expectSeen = (...answers: string[]) => expect([...seen]).toEqual(expect.arrayContaining(answers));

/** Mostly the admin token, sometimes none, a wrong one, or a malformed header. */
const authorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant<string | undefined>(ADMIN) },
  { weight: 1, arbitrary: fc.constant<string | undefined>(undefined) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      headerText,
      headerText.map((token) => `Bearer ${token}`),
      fc.constantFrom(
        `Bearer ${TEST_ADMIN_TOKEN}x`,
        `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}`,
        `Basic ${TEST_ADMIN_TOKEN}`,
        `Bearer  ${TEST_ADMIN_TOKEN} extra`,
        TEST_ADMIN_TOKEN,
      ),
    ),
  },
);
const headersWith = (auth: string | undefined, extra: Record<string, string> = {}) =>
  auth === undefined ? extra : { ...extra, authorization: auth };

/** Refusals a request may get before its token is checked: its shape is wrong, or no route matches. */
const BEFORE_AUTH = [400, 404, 413, 414, 415];

/** Raw URL pieces that are not clean percent-encoding: the router and the query parser must cope. */
const rawPieces = fc.constantFrom(
  '%',
  '%ZZ',
  '%00',
  '%C0%80',
  '%ED%A0%80',
  '%FF%FE',
  '%2F',
  '%2e%2e',
  '..',
  '%252F',
  '+',
  '&',
  '=',
  '#',
  ';',
  '%E2%80%AE',
  '%F0%9F%98%80',
);

/** Text for a URL: any text percent-encoded, raw oddities, huge values. */
const urlText = fc.oneof(
  { weight: 4, arbitrary: anyText.map((text) => encodeURIComponent(text)) },
  {
    weight: 2,
    arbitrary: fc.array(rawPieces, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'x'.repeat(129),
      'x'.repeat(5_000),
      encodeURIComponent('😀'.repeat(100)),
      '9'.repeat(400),
    ),
  },
);

const numbers = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom(0, -1, 1, 60, 61, 200, 201, 2 ** 31, 2 ** 53, 2 ** 64, 1e308, -0, 0.5, 1.5).map(String),
  fc.constantFrom('1e3', '0x10', ' 5', '5 ', '05', '+5', 'NaN', 'Infinity', '-Infinity', '', '1_0', '٣'),
  fc.double().map(String),
);

const instants = fc.oneof(
  fc.date({ noInvalidDate: true }).map((at) => at.toISOString()),
  fc.constantFrom(
    '0000-01-01',
    '0000-01-01T00:00+23:59',
    '9999-12-31T23:59:59.999-23:59',
    '1000-01-01',
    '1969-12-31T23:59:59Z',
    '2026-02-30',
    '2026-13-01',
    '2026-00-00',
    '2026-11-25T24:00:00Z',
    '2026-11-25T10:00:00.1234Z',
    '+275760-09-13T00:00:00Z',
    '2026-11-25T10:00:00+99:99',
  ),
);

const base64url = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

const signedCursors = createCursorCodec(TEST_ADMIN_TOKEN);

/** Cursors: the real one, and the real one edited every way a caller might. */
const cursors = fc.oneof(
  fc.constant(null).map(() => validCursor),
  fc.nat().map((at) => {
    const index = at % validCursor.length;
    const flipped = validCursor[index] === 'A' ? 'B' : 'A';
    return `${validCursor.slice(0, index)}${flipped}${validCursor.slice(index + 1)}`;
  }),
  fc.nat().map((cut) => validCursor.slice(0, cut % validCursor.length)),
  fc.string({ maxLength: 10 }).map((tail) => `${validCursor}${tail}`),
  // Well-shaped (base64url body, 22-character MAC) but not signed by us: the MAC check must refuse it.
  fc
    .tuple(fc.json({ maxDepth: 2 }), fc.string({ unit: base64url, minLength: 22, maxLength: 22 }))
    .map(([json, mac]) => `${Buffer.from(json).toString('base64url')}.${mac}`),
  fc.nat().map(() => `${validCursor.split('.')[0]}.${'A'.repeat(22)}`),
  // Signed with the real key, naming positions no page could end at: any instant a Date holds, any gid.
  fc
    .tuple(
      fc.oneof(
        fc.integer({ min: -8.64e15, max: 8.64e15 }),
        fc.constantFrom(-1, 0, 253402300799999, 253402300800000, 8.64e15, -62135596800001),
      ),
      anyText,
    )
    .map(([at, gid]) => signedCursors.encode({ createdAt: new Date(at), gid })),
  anyText,
);

const listParams = fc.oneof(
  fc.tuple(
    fc.constant('status'),
    fc.oneof(fc.constantFrom('pending', 'compensating', 'succeeded', 'aborted', 'PENDING'), anyText),
  ),
  fc.tuple(fc.constant('type'), fc.oneof(fc.constantFrom('register', 'walk'), anyText)),
  fc.tuple(fc.constant('since'), fc.oneof(instants, anyText)),
  fc.tuple(
    fc.constant('q'),
    fc.oneof(
      fc.constant(null).map(() => finalGids[0] ?? 'x'),
      fc.constantFrom('1', '%', '_', '*'),
      anyText,
    ),
  ),
  fc.tuple(fc.constant('limit'), numbers),
  fc.tuple(fc.constant('cursor'), cursors),
  fc.tuple(fc.constantFrom('limit', 'q', 'status'), fc.constantFrom('5', '1', 'succeeded', 'aborted')),
  fc.tuple(fc.string({ maxLength: 10 }), anyText),
);

/** A query string from key/value pairs (keys may repeat), encoded or sometimes raw. */
const queryOf = (pairs: fc.Arbitrary<[string, string]>, maxLength = 4) =>
  fc
    .oneof(
      {
        weight: 5,
        arbitrary: fc
          .array(pairs, { maxLength })
          .map((list) =>
            list.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`),
          ),
      },
      {
        weight: 1,
        arbitrary: fc
          .array(
            fc.tuple(fc.constantFrom('status', 'q', 'limit', 'cursor', 'since', 'type', 'minutes'), urlText),
            {
              maxLength,
            },
          )
          .map((list) => list.map(([key, value]) => `${key}=${value}`)),
      },
    )
    .map((parts) => (parts.length === 0 ? '' : `?${parts.join('&')}`));

describe('HTTP fuzzing of the admin routes: never a 5xx, nothing written on a 4xx', () => {
  it('GET /sagas with any query', async () => {
    await fc.assert(
      fc.asyncProperty(queryOf(listParams), authorization, async (query, auth) => {
        const response = await judge(
          'GET',
          `/sagas${query}`,
          { headers: headersWith(auth) },
          { readOnly: true },
        );
        if (auth !== ADMIN) {
          expect([...BEFORE_AUTH, 401]).toContain(response.status);
          return;
        }
        expect([200, 400]).toContain(response.status);
        if (response.status !== 200) return;
        expect(Array.isArray(response.body.sagas)).toBe(true);
        // What the server was sent: a `#` starts the fragment, which never leaves the client.
        const params = new URLSearchParams(query.split('#')[0]);
        const limit = Number(params.get('limit') ?? 50);
        expect(response.body.sagas.length).toBeLessThanOrEqual(limit);
        const status = params.get('status');
        for (const saga of response.body.sagas) if (status) expect(saga.status).toBe(status);
      }),
      { numRuns: RUNS },
    );
    expectSeen('200', '400 invalid_argument', '401 unauthenticated');
  }, 60_000);

  it('GET /sagas/stats with any minutes', async () => {
    const params = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constant('minutes'), numbers) },
      { weight: 1, arbitrary: fc.tuple(fc.constant('minutes'), anyText) },
      { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 10 }), anyText) },
    );
    await fc.assert(
      fc.asyncProperty(queryOf(params, 3), authorization, async (query, auth) => {
        const response = await judge(
          'GET',
          `/sagas/stats${query}`,
          { headers: headersWith(auth) },
          { readOnly: true },
        );
        if (auth !== ADMIN) {
          expect([...BEFORE_AUTH, 401]).toContain(response.status);
          return;
        }
        expect([200, 400]).toContain(response.status);
        if (response.status !== 200) return;
        const minutes = response.body.window.minutes;
        expect(minutes).toBeGreaterThanOrEqual(1);
        expect(minutes).toBeLessThanOrEqual(60);
        expect(response.body.window.perMinute).toHaveLength(minutes);
        expect(response.body.total).toBe(3);
      }),
      { numRuns: RUNS },
    );
    expectSeen('200', '400 invalid_argument', '401 unauthenticated');
  }, 60_000);

  it('POST /sagas/:gid/retry with any gid, body and content type', async () => {
    const contentTypes = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: headerText },
    );
    const target = fc.oneof(
      { weight: 3, arbitrary: urlText.map((path) => ({ path, final: false })) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(...[0, 1, 2])
          .map((i) => ({ path: encodeURIComponent(finalGids[i] ?? ''), final: true })),
      },
    );
    const request = fc.oneof(
      { weight: 2, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: bodies(['gid', 'step', 'force', 'at']) },
    );
    await fc.assert(
      fc.asyncProperty(
        target,
        request,
        contentTypes,
        authorization,
        async ({ path, final }, body, type, auth) => {
          const headers = headersWith(auth, type === undefined ? {} : { 'content-type': type });
          const response = await judge('POST', `/sagas/${path}/retry`, { ...body, headers });
          // No saga of this database waits for a retry: nothing may be woken, with or without the token.
          expect(response.status).not.toBe(202);
          if (auth !== ADMIN) {
            expect([...BEFORE_AUTH, 401]).toContain(response.status);
            return;
          }
          expect([...BEFORE_AUTH, 409]).toContain(response.status);
          if (response.status === 409) expect(response.body.error.code).toBe('saga_final');
          if (final) expect(response.status).not.toBe(404);
          if (response.status === 404 && !final) {
            expect(['saga_not_found', 'not_found']).toContain(response.body.error.code);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expectSeen(
      '404 saga_not_found',
      '409 saga_final',
      '400 invalid_argument',
      '415 unsupported_media_type',
      '401 unauthenticated',
    );
  }, 60_000);

  it('GET /machines/:type/diagram with any type', async () => {
    const type = fc.oneof(
      { weight: 3, arbitrary: urlText },
      { weight: 1, arbitrary: fc.constant('register') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('REGISTER', 'register%00', 'constructor', '__proto__', 'toString'),
      },
    );
    await fc.assert(
      fc.asyncProperty(type, fc.string({ maxLength: 20 }), authorization, async (machine, query, auth) => {
        const response = await judge(
          'GET',
          `/machines/${machine}/diagram?${encodeURIComponent(query)}`,
          { headers: headersWith(auth) },
          { readOnly: true },
        );
        if (auth !== ADMIN) {
          expect([...BEFORE_AUTH, 401]).toContain(response.status);
          return;
        }
        if (machine === 'register') {
          expect(response.status).toBe(200);
          expect(response.body.nodes.length).toBeGreaterThan(0);
        } else expect(BEFORE_AUTH).toContain(response.status);
      }),
      { numRuns: RUNS },
    );
    expectSeen('200', '404 not_found', '401 unauthenticated');
  }, 60_000);

  it('GET /metrics with any query and headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 30 }),
        headerText,
        authorization,
        async (query, accept, auth) => {
          const response = await judge(
            'GET',
            `/metrics?${encodeURIComponent(query)}`,
            { headers: headersWith(auth, { accept }) },
            { readOnly: true },
          );
          if (auth !== ADMIN) expect(response.status).toBe(401);
          else {
            expect(response.status).toBe(200);
            expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
          }
        },
      ),
      { numRuns: 100 },
    );
    expectSeen('200', '401 unauthenticated');
  }, 60_000);

  it('GET /dashboard and its assets, and paths beside them', async () => {
    const assets = [
      '/dashboard',
      '/dashboard/dashboard.js',
      '/dashboard/dashboard.css',
      '/dashboard/favicon.svg',
    ];
    const path = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...assets) },
      { weight: 1, arbitrary: urlText.map((segment) => `/dashboard/${segment}`) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(...assets).chain((asset) => urlText.map((tail) => `${asset}${tail}`)),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        path,
        fc.string({ maxLength: 30 }),
        headerText,
        authorization,
        async (target, query, header, auth) => {
          const response = await judge(
            'GET',
            `${target}?${encodeURIComponent(query)}`,
            { headers: headersWith(auth, { accept: header, 'if-none-match': header }) },
            { readOnly: true },
          );
          // A raw `#` starts the fragment, which the client does not send.
          if (assets.includes(target.split('#')[0] ?? '')) {
            // Public pages: the token does not matter.
            expect(response.status).toBe(200);
            expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
          } else expect([400, 404, 414]).toContain(response.status);
        },
      ),
      { numRuns: RUNS },
    );
    expectSeen('200', '404 not_found');
  }, 60_000);

  it('GET /docs, /docs/json and paths under /docs, with no file outside its own served', async () => {
    const path = fc.oneof(
      fc.constantFrom(
        '/docs',
        '/docs/',
        '/docs/json',
        '/docs/yaml',
        '/docs/static/index.html',
        '/docs/static/swagger-ui.css',
      ),
      fc
        .array(urlText, { minLength: 1, maxLength: 4 })
        .map((segments) => `/docs/static/${segments.join('/')}`),
      fc.array(urlText, { minLength: 1, maxLength: 3 }).map((segments) => `/docs/${segments.join('/')}`),
      fc.constantFrom(
        '/docs/static/../../package.json',
        '/docs/static/%2e%2e/%2e%2e/package.json',
        '/docs/static/..%2f..%2f..%2fpackage.json',
        '/docs/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd',
        '/docs/static/....//....//package.json',
        '/docs/static/%00',
        '/docs/static/.env',
        '/docs/static/index%2Ehtml',
        '/docs/static/index.html?',
        '/docs/static/a//b',
        '/docs/static//swagger-ui.css',
      ),
    );
    await fc.assert(
      fc.asyncProperty(path, fc.string({ maxLength: 20 }), authorization, async (target, query, auth) => {
        const response = await judge(
          'GET',
          `${target}?${encodeURIComponent(query)}`,
          { headers: headersWith(auth) },
          { readOnly: true },
        );
        expect([200, 301, 302, 303, 400, 403, 404, 414]).toContain(response.status);
        const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body ?? '');
        // Our package.json and /etc/passwd must never come back, whatever the path says.
        expect(text).not.toContain('"devDependencies"');
        expect(text).not.toContain('root:x:0:0');
      }),
      { numRuns: RUNS },
    );
    expectSeen('200', '404 not_found');
  }, 60_000);

  it('redirects the docs index alias to the docs page once, keeping the query', async () => {
    // @fastify/swagger-ui alone redirected these to themselves forever (found by the property above).
    for (const [path, location] of [
      ['/docs/static/index.html', '/docs/'],
      ['/docs/static/index.html?x=1', '/docs/?x=1'],
      ['/docs/static/index%2Ehtml?y', '/docs/?y'],
    ]) {
      const response = await fetch(`${service.url}${path}`, { redirect: 'manual' });
      await response.body?.cancel();
      expect([301, 302], path).toContain(response.status);
      expect(response.headers.get('location'), path).toBe(location);
    }
  });

  it('is still serving afterwards, with no metric series per fuzzed path', async () => {
    expect((await call(service.url, 'GET', '/healthz')).status).toBe(200);
    expect(
      (await call(service.url, 'GET', '/sagas', { headers: { authorization: ADMIN } })).body.sagas,
    ).toHaveLength(3);
    const metrics = await call(service.url, 'GET', '/metrics', { headers: { authorization: ADMIN } });
    const routes = new Set([...String(metrics.body).matchAll(/route="([^"]*)"/g)].map((match) => match[1]));
    // Labels are route patterns: thousands of fuzzed gids and paths add no series.
    expect(routes.size).toBeLessThan(30);
    for (const route of routes) expect(route === 'unmatched' || route?.startsWith('/')).toBe(true);
  });
});
