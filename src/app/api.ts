import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createSagaLog } from '../db/saga-log.js';
import { createSagaQueries } from '../db/saga-queries.js';
import { startSagaPruner } from '../db/saga-retention.js';
import { createSecretBox } from '../domain/secret-box.js';
import type { FaultInjector } from '../faults/fault-injector.js';
import { withSagaLogFaults } from '../faults/fault-wrappers.js';
import { registerSaga } from '../machines/register-saga.js';
import { createRegistration } from '../machines/registration.js';
import { coordinatorOwner, SagaCoordinator, type SagaTracing } from '../machines/runtime/saga-coordinator.js';
import type { SagaInspector } from '../observability/inspector.js';
import type { Metrics } from '../observability/metrics.js';
import { buildHttpServer } from '../transports/http/http-server.js';
import { startBarrierPruning } from './barrier-pruning.js';
import type { Closers } from './closers.js';
import { answers, type Databases } from './databases.js';
import type { GrpcKit } from './grpc-kit.js';
import { apiServices, type LocalServices } from './services.js';

export interface Api {
  readonly http: FastifyInstance;
  readonly coordinator: SagaCoordinator;
  readonly inspector: SagaInspector | undefined;
}

/** The Stately inspector's local server, when INSPECT is on: loaded only then, like gRPC. */
async function startInspector(
  config: Config,
  logger: Logger,
  closers: Closers,
): Promise<SagaInspector | undefined> {
  if (!config.inspect.enabled) return undefined;
  const { startSagaInspector } = await import('../observability/inspector.js');
  const inspector = await startSagaInspector(config.inspect.port);
  closers.add(() => inspector.close());
  logger.info(
    { url: inspector.url },
    `Stately inspector: open ${inspector.url} in a browser (saga actors are named register:<gid>)`,
  );
  return inspector;
}

/** The api role: the saga coordinator over the saga log, and the HTTP API in front of it. */
export async function startApi(
  config: Config,
  databases: Databases,
  local: LocalServices,
  kit: GrpcKit | undefined,
  faults: FaultInjector,
  metrics: Metrics,
  logger: Logger,
  closers: Closers,
  tracing: SagaTracing | undefined,
): Promise<Api> {
  const sagaDatabase = databases.saga;
  if (!sagaDatabase) throw new Error('the api role has no saga database');
  const { users, scores } = apiServices(config, local, kit, metrics, logger, closers);
  const sagaLog = withSagaLogFaults(createSagaLog(sagaDatabase.db), faults);
  const sagaQueries = createSagaQueries(sagaDatabase.db);
  startBarrierPruning(config, databases, sagaQueries, kit, metrics, logger, closers);
  closers.add(
    startSagaPruner(
      sagaDatabase.db,
      { retentionMs: config.saga.retention.retentionMs, intervalMs: config.saga.retention.pruneIntervalMs },
      logger,
    ),
  );

  const secrets = createSecretBox(config.saga.secretKey);
  const inspector = await startInspector(config, logger, closers);
  const coordinator = new SagaCoordinator({
    log: sagaLog,
    leaseMs: config.saga.leaseMs,
    recoveryIntervalMs: config.saga.recoveryIntervalMs,
    timeoutMs: config.saga.timeoutMs,
    policy: config.saga.retry,
    alertRetryLimit: config.saga.alertRetryLimit,
    owner: coordinatorOwner(config.saga.coordinatorId),
    logger: logger.child({ component: 'saga' }),
    observer: metrics.sagas,
    ...(inspector ? { inspect: inspector.inspect } : {}),
    ...(tracing ? { tracing } : {}),
  });
  // A service here on the saga log's own database carries the log in its branch transactions.
  const riding = [
    ...(config.services.user.kind === 'local' && databases.user === sagaDatabase ? (['users'] as const) : []),
    ...(config.services.score.kind === 'local' && databases.score === sagaDatabase
      ? (['scores'] as const)
      : []),
  ];
  coordinator.define(registerSaga, { users, scores, secrets }, riding);
  metrics.sagas.prepare(registerSaga);
  metrics.trackInFlight(() => coordinator.runningCount);
  await coordinator.start();
  closers.add(() => coordinator.stop(config.api.shutdownGraceMs));
  logger.info({ owner: coordinator.owner }, 'saga coordinator started');

  const http = await buildHttpServer({
    logger,
    jwt: config.jwt,
    adminToken: config.api.adminToken,
    login: config.api.login,
    register: { ...config.api.register, maxInFlight: config.api.maxSagasInFlight },
    trustProxy: config.api.trustProxy,
    timeouts: { requestMs: config.http.requestTimeoutMs, connectionMs: config.http.connectionTimeoutMs },
    registration: createRegistration({
      coordinator,
      users,
      log: sagaLog,
      secrets,
      waitMs: config.api.registerWaitMs,
    }),
    users,
    scores,
    sagaLog,
    sagaQueries,
    coordinator,
    readiness: async () => {
      const [database, migrations] = await Promise.all([
        answers(sagaDatabase),
        databases.migrationsCurrent(),
      ]);
      const checks = { database, migrations, recovery: coordinator.healthy };
      return { ready: Object.values(checks).every(Boolean), checks };
    },
    metrics: { registry: metrics.registry, record: metrics.httpRequest },
    traceUrlTemplate: config.tracing.urlTemplate,
  });
  // Closed first: no new requests while the coordinator drains.
  closers.add(() => http.close());
  return { http, coordinator, inspector };
}
