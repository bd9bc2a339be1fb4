import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { startBarrierPruner } from './db/barrier-prune.js';
import { openDatabase } from './db/connection.js';
import { redactUrl } from './db/database-url.js';
import { resolveLocalDatabase } from './db/local-server.js';
import { migrateDatabase } from './db/migrate.js';
import { migrationSetNames } from './db/migration-sets.js';
import { createSagaLog } from './db/saga-log.js';
import { createScoreStore } from './db/score-store.js';
import { createUserStore } from './db/user-store.js';
import { createScoreService } from './domain/score-service.js';
import { createSecretBox } from './domain/secret-box.js';
import { createUserService } from './domain/user-service.js';
import { registerSaga } from './machines/register-saga.js';
import { createRegistration } from './machines/registration.js';
import { SagaCoordinator } from './machines/runtime/saga-coordinator.js';
import { buildHttpServer } from './transports/http/http-server.js';

export interface App {
  readonly http: FastifyInstance;
  readonly coordinator: SagaCoordinator;
  /** The database the process ended up using (DATABASE_URL, the local server, or a private one). */
  readonly databaseUrl: string;
  close(): Promise<void>;
}

const READINESS_TIMEOUT_MS = 1_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Builds the whole process from its configuration: database, services, coordinator, HTTP API. */
export async function buildApp(config: Config, logger: Logger): Promise<App> {
  const local = {
    info: (message: string) => logger.info(message),
    warn: (message: string) => logger.warn(message),
  };
  const location = config.database.url
    ? { url: config.database.url, stop: async () => {} }
    : await resolveLocalDatabase(config.database.dataDir, local);
  const closers: Array<() => Promise<void>> = [location.stop];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
  };

  try {
    await migrateDatabase(location.url, migrationSetNames, local);
    const database = openDatabase(location.url, { poolSize: config.database.poolSize });
    closers.push(() => database.close());
    logger.info({ database: redactUrl(location.url), pool: config.database.poolSize }, 'database ready');

    const users = createUserService(createUserStore(database.db), config.cache);
    const scores = createScoreService(createScoreStore(database.db), config.score, config.cache);
    const secrets = createSecretBox(config.saga.secretKey);
    const sagaLog = createSagaLog(database.db);

    const coordinator = new SagaCoordinator({
      log: sagaLog,
      leaseMs: config.saga.leaseMs,
      recoveryIntervalMs: config.saga.recoveryIntervalMs,
      timeoutMs: config.saga.timeoutMs,
      policy: config.saga.retry,
      alertRetryLimit: config.saga.alertRetryLimit,
      ...(config.saga.coordinatorId ? { owner: config.saga.coordinatorId } : {}),
      logger: logger.child({ component: 'saga' }),
    });
    coordinator.define(registerSaga, { users, scores, secrets });
    await coordinator.start();
    closers.push(() => coordinator.stop(config.api.shutdownGraceMs));
    logger.info({ owner: coordinator.owner }, 'saga coordinator started');

    const stopPruner = startBarrierPruner(
      database.db,
      { retentionMs: config.barrier.retentionMs, intervalMs: config.barrier.pruneIntervalMs },
      logger,
    );
    closers.push(stopPruner);

    const registration = createRegistration({
      coordinator,
      log: sagaLog,
      secrets,
      waitMs: config.api.registerWaitMs,
    });
    const http = await buildHttpServer({
      logger,
      jwt: config.jwt,
      adminToken: config.api.adminToken,
      login: config.api.login,
      trustProxy: config.api.trustProxy,
      registration,
      users,
      scores,
      sagaLog,
      coordinator,
      readiness: async () => {
        const database_ = await withTimeout(database.pool.query('SELECT 1'), READINESS_TIMEOUT_MS).then(
          () => true,
          () => false,
        );
        const checks = { database: database_, migrations: true, recovery: coordinator.healthy };
        return { ready: Object.values(checks).every(Boolean), checks };
      },
    });
    // The HTTP server closes first: no new requests while the coordinator drains.
    closers.push(() => http.close());

    return { http, coordinator, databaseUrl: location.url, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
