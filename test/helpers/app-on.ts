import type { Logger } from 'pino';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { TEST_ADMIN_TOKEN, TEST_JWT_SECRET, TEST_SERVICE_TOKEN } from './app.js';
import type { TestDatabase } from './database.js';

/**
 * The service on a database the test owns (startTestApp makes a fresh one each time): for tests that
 * run two processes' worth of app on one database, or read the app's log.
 */
export async function startAppOn(
  database: TestDatabase,
  env: Record<string, string>,
  logger: Logger = createLogger({ level: 'silent', env: 'test', pretty: false }),
): Promise<{ app: App; url: string }> {
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    SERVICE_TOKEN: TEST_SERVICE_TOKEN,
    BARRIER_PRUNE_INTERVAL: '0',
    SAGA_PRUNE_INTERVAL: '0',
    // Every test registers from 127.0.0.1; the register limit has tests of its own that set it.
    REGISTER_RATE_MAX: '1000000',
    USER_GRPC_ADDR: '127.0.0.1:0',
    SCORE_GRPC_ADDR: '127.0.0.1:0',
    ...env,
  });
  const app = await buildApp(config, logger);
  try {
    if (!app.http) throw new Error('startAppOn needs the api role, or METRICS_PORT for a service-only one');
    await app.http.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.http.server.address();
  return { app, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}
