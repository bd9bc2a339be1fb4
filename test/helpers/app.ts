import { createHmac } from 'node:crypto';
import { Agent, fetch as fetchFrom } from 'undici';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-42';
export const TEST_ADMIN_TOKEN = 'admin-token-for-tests-0123456789';
export const TEST_SERVICE_TOKEN = 'service-token-for-tests-0123456789';

export interface TestApp {
  readonly app: App;
  readonly database: TestDatabase;
  readonly url: string;
  close(): Promise<void>;
}

/** The whole service (monolith) on a fresh database, listening on a free loopback port. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    BARRIER_PRUNE_INTERVAL: '0',
    SAGA_PRUNE_INTERVAL: '0',
    // Every test registers from 127.0.0.1; the register limit has tests of its own that set it.
    REGISTER_RATE_MAX: '1000000',
    SERVICE_TOKEN: TEST_SERVICE_TOKEN,
    // Free ports: test files run in parallel, each with its own monolith.
    USER_GRPC_ADDR: '127.0.0.1:0',
    SCORE_GRPC_ADDR: '127.0.0.1:0',
    ...env,
  });
  const logger = createLogger({ level: env.LOG_LEVEL ?? 'silent', env: 'test', pretty: false });
  const app = await buildApp(config, logger);
  if (!app.http) throw new Error('startTestApp needs the api role');
  await app.http.listen({ host: '127.0.0.1', port: 0 });
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    database,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

/** One connection pool per local address, so tests can be several clients (127.0.0.2, …) on loopback. */
const agents = new Map<string, Agent>();
function agentFrom(localAddress: string): Agent {
  let agent = agents.get(localAddress);
  if (!agent) {
    agent = new Agent({ localAddress });
    agents.set(localAddress, agent);
  }
  return agent;
}

/**
 * A JSON request; returns status, headers and parsed body. `from`: the local address to connect from
 * (any 127.x.y.z on Linux), for tests where the server must see different clients.
 */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; headers?: Record<string, string>; from?: string } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const init = { method, headers, ...(body === undefined ? {} : { body }) };
  const response =
    options.from === undefined
      ? await fetch(`${base}${path}`, init)
      : await fetchFrom(`${base}${path}`, { ...init, dispatcher: agentFrom(options.from) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever shape the route answers
  return { status: response.status, headers: response.headers, body: json as any };
}

/** Builds a JWT by hand, so tests can forge the bad ones (alg none, other secrets, odd claims). */
export function forgeToken(payload: object, options: { secret?: string; header?: object } = {}): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = encode(options.header ?? { alg: 'HS256', typ: 'JWT' });
  const body = encode(payload);
  const signature = createHmac('sha256', options.secret ?? TEST_JWT_SECRET)
    .update(`${header}.${body}`)
    .digest('base64url');
  return `${header}.${body}.${signature}`;
}
