import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestApp, type TestApp } from '../helpers/app.js';

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is checked field by field below
type Loose = any;

let service: TestApp;
let document: Loose;

beforeAll(async () => {
  service = await startTestApp();
  const response = await call(service.url, 'GET', '/docs/json');
  expect(response.status).toBe(200);
  document = response.body;
});
afterAll(async () => {
  await service?.close();
});

/** The docs' own pages; every other route must be in the document. */
const UNDOCUMENTED = (path: string) => path === '/docs' || path.startsWith('/docs/');

/** fastify's own route list (printRoutes' tree), as "METHOD /path" with OpenAPI's {param} spelling. */
function registeredRoutes(tree: string): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*)$/.exec(line);
    if (!match) continue;
    const depth = (match[1] as string).length / 4;
    const [, segment, methods] = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(match[2] as string) as RegExpExecArray;
    stack.length = depth;
    stack.push(segment as string);
    if (!methods) continue;
    const path = stack.join('').replace(/:(\w+)/g, '{$1}');
    for (const method of methods.split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes;
}

function operations(): Array<{ key: string; operation: Record<string, Loose> }> {
  const found = [];
  for (const [path, item] of Object.entries<Record<string, Loose>>(document.paths))
    for (const [method, operation] of Object.entries(item))
      found.push({ key: `${method.toUpperCase()} ${path}`, operation });
  return found;
}

describe('OpenAPI document', () => {
  it('is an OpenAPI 3 document with the bearer and admin security schemes', () => {
    expect(document.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(document.info).toMatchObject({ title: 'saga-service', version: expect.any(String) });
    expect(typeof document.paths).toBe('object');
    expect(document.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      admin: { type: 'http', scheme: 'bearer' },
    });
    for (const { operation } of operations()) {
      for (const requirement of operation.security ?? [])
        for (const scheme of Object.keys(requirement))
          expect(document.components.securitySchemes).toHaveProperty(scheme);
    }
  });

  it('lists exactly the routes fastify has registered', () => {
    const registered = registeredRoutes(service.app.http!.printRoutes({ commonPrefix: false }))
      .filter((route) => !UNDOCUMENTED(route.split(' ')[1] as string))
      .sort();
    expect(registered.length).toBeGreaterThanOrEqual(7);
    expect(registered).toContain('GET /sagas/{gid}');
    expect(
      operations()
        .map(({ key }) => key)
        .sort(),
    ).toEqual(registered);
  });

  it('gives every operation a success response, and its client errors in the error envelope with their codes', () => {
    for (const { key, operation } of operations()) {
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((status) => status.startsWith('2')),
        key,
      ).toBe(true);
      for (const status of statuses.filter((status) => status.startsWith('4'))) {
        const response = operation.responses[status];
        expect(response.description, `${key} ${status}`).toMatch(/`\w+`/);
        const schema = response.content['application/json'].schema;
        const variants = schema.anyOf ?? [schema];
        expect(
          variants.some((variant: Loose) => variant.properties?.error),
          `${key} ${status}`,
        ).toBe(true);
      }
    }
  });

  it('documents a 4xx for every operation that takes input or credentials', () => {
    const all = operations();
    const takesInput = all.filter(
      ({ operation }) => operation.parameters?.length || operation.requestBody || operation.security?.length,
    );
    // Only the probes and the dashboard's public files take nothing a caller could get wrong.
    expect(
      all
        .filter((entry) => !takesInput.includes(entry))
        .map(({ key }) => key)
        .filter((key) => !key.startsWith('GET /dashboard'))
        .sort(),
    ).toEqual(['GET /healthz', 'GET /readyz']);
    for (const { key, operation } of takesInput)
      expect(
        Object.keys(operation.responses).some((status) => status.startsWith('4')),
        key,
      ).toBe(true);
  });

  it('documents the error codes each route answers with', () => {
    const responses = (path: string, method: string) => document.paths[path][method].responses;
    expect(responses('/login', 'post')['401'].description).toContain('`invalid_credentials`');
    expect(responses('/login', 'post')['429'].description).toContain('`rate_limited`');
    expect(responses('/login', 'post')['409'].description).toContain('`registration_incomplete`');
    expect(responses('/user', 'get')['404'].description).toContain('`user_not_found`');
    expect(responses('/register', 'post')['422'].description).toContain('`score_rejected`');
    expect(responses('/register', 'post')['409'].description).toContain('`duplicate_user`');
    expect(responses('/sagas/{gid}', 'get')['401'].description).toContain('`unauthenticated`');
    expect(document.paths['/sagas/{gid}'].get.security).toEqual([{ admin: [] }]);
    expect(responses('/register', 'post')['429'].description).toContain('`rate_limited`');
    expect(responses('/register', 'post')['503'].description).toContain('`overloaded`');
    expect(document.paths['/user'].get.security).toEqual([{ bearer: [] }]);
  });

  it('says which answers carry Retry-After: the limits (429) and an overloaded registration (503)', () => {
    const retryAfter = (path: string, method: string, status: string) =>
      document.paths[path][method].responses[status].headers?.['retry-after'];
    for (const [path, status] of [
      ['/register', '429'],
      ['/register', '503'],
      ['/login', '429'],
    ] as const) {
      expect(retryAfter(path, 'post', status), `${path} ${status}`).toMatchObject({
        schema: { type: 'integer', minimum: 1 },
        description: expect.stringMatching(/seconds/i),
      });
    }
  });
});

describe('GET /docs', () => {
  it('answers the Swagger UI page, loading nothing from other hosts', async () => {
    const response = await fetch(`${service.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const initializer = await fetch(`${service.url}/docs/static/swagger-initializer.js`);
    expect(initializer.status).toBe(200);
    expect(await initializer.text()).toContain('validatorUrl: null');
  });
});
