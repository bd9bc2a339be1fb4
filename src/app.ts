import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ListenAddress } from './config/grpc-address.js';
import type { Config } from './config.js';
import { startBarrierPruner } from './db/barrier-prune.js';
import { type Database, openDatabase } from './db/connection.js';
import { redactUrl } from './db/database-url.js';
import { resolveLocalDatabase } from './db/local-server.js';
import { migrateDatabase, migrationsApplied } from './db/migrate.js';
import type { MigrationSetName } from './db/migration-sets.js';
import { createSagaLog } from './db/saga-log.js';
import { createSagaQueries } from './db/saga-queries.js';
import { startSagaPruner } from './db/saga-retention.js';
import { createScoreStore } from './db/score-store.js';
import { createUserStore } from './db/user-store.js';
import { type CacheInvalidation, localOnly } from './domain/cache.js';
import { createScoreService, type ScoreService } from './domain/score-service.js';
import { createSecretBox } from './domain/secret-box.js';
import { createUserService, type UserService } from './domain/user-service.js';
import { createFaultInjector } from './faults/fault-injector.js';
import { withSagaLogFaults, withScoreFaults, withUserFaults } from './faults/fault-wrappers.js';
import { registerSaga } from './machines/register-saga.js';
import { createRegistration } from './machines/registration.js';
import { SagaCoordinator } from './machines/runtime/saga-coordinator.js';
import type { SagaInspector } from './observability/inspector.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { ClientSettings } from './transports/grpc/grpc-client.js';
import type { RunningGrpcServer, ServiceBinding } from './transports/grpc/grpc-server.js';
import type { HandlerContext } from './transports/grpc/unary.js';
import { buildHttpServer, buildOpsServer } from './transports/http/http-server.js';

export interface App {
  /**
   * The HTTP API when this process has the `api` role; for a service-only process, its probes and
   * metrics server when METRICS_PORT is set.
   */
  readonly http: FastifyInstance | undefined;
  /** Where `http` listens (PORT, or METRICS_PORT for a service-only process). */
  readonly httpPort: number | undefined;
  readonly coordinator: SagaCoordinator | undefined;
  /** gRPC servers of the `user` and `score` roles this process has. */
  readonly grpc: { readonly user?: RunningGrpcServer; readonly score?: RunningGrpcServer };
  /** This instance's metrics registry (GET /metrics). */
  readonly metrics: Metrics;
  /** The Stately inspector's local server, when INSPECT is on (api role). */
  readonly inspector: SagaInspector | undefined;
  close(): Promise<void>;
}

const READINESS_TIMEOUT_MS = 1_000;
const HEALTH_INTERVAL_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Whether a database answers a trivial query within the readiness timeout. */
function answers(database: Database): Promise<boolean> {
  return withTimeout(database.pool.query('SELECT 1'), READINESS_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
}

/** What this process hosts, from its roles and where its services live. */
function planOf(config: Config) {
  const api = config.roles.has('api');
  return {
    api,
    /** The user service runs here: to serve it over gRPC, or for a local api. */
    hostsUser: config.roles.has('user') || (api && config.services.user.kind === 'local'),
    hostsScore: config.roles.has('score') || (api && config.services.score.kind === 'local'),
  };
}

/**
 * Builds the process from its configuration. One process can be the whole monolith (api, user and score
 * roles, services called in-process) or any one role of the split deployment, where the api's
 * coordinator reaches the services over gRPC. Nothing below the transports knows which.
 */
export async function buildApp(config: Config, logger: Logger): Promise<App> {
  const plan = planOf(config);
  const httpTimeouts = {
    requestMs: config.http.requestTimeoutMs,
    connectionMs: config.http.connectionTimeoutMs,
  };
  const metrics = createMetrics();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) {
      await close().catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
    }
  };

  try {
    // Databases: each service has its own URL (defaulting to DATABASE_URL, else the local default) and
    // gets only the tables it owns. Services sharing a URL share one pool.
    const wanted: Array<{ url: string | undefined; sets: MigrationSetName[] }> = [];
    if (plan.hostsUser) wanted.push({ url: config.database.userUrl, sets: ['user', 'barrier'] });
    if (plan.hostsScore) wanted.push({ url: config.database.scoreUrl, sets: ['score', 'barrier'] });
    if (plan.api) wanted.push({ url: config.database.sagaUrl, sets: ['saga'] });
    let fallbackUrl: string | undefined;
    if (wanted.some((entry) => entry.url === undefined)) {
      const local = await resolveLocalDatabase(config.database.dataDir, {
        info: (message) => logger.info(message),
        warn: (message) => logger.warn(message),
      });
      closers.push(local.stop);
      fallbackUrl = local.url;
    }
    const setsByUrl = new Map<string, Set<MigrationSetName>>();
    for (const entry of wanted) {
      const url = entry.url ?? (fallbackUrl as string);
      const sets = setsByUrl.get(url) ?? new Set();
      for (const set of entry.sets) sets.add(set);
      setsByUrl.set(url, sets);
    }
    const databases = new Map<string, Database>();
    for (const [url, sets] of setsByUrl) {
      await migrateDatabase(url, [...sets], { info: (message) => logger.info(message) });
      const database = openDatabase(url, { poolSize: config.database.poolSize });
      databases.set(url, database);
      metrics.trackPool([...sets].join('+'), database.pool);
      closers.push(() => database.close());
      logger.info(
        { database: redactUrl(url), sets: [...sets], pool: config.database.poolSize },
        'database ready',
      );
    }
    const databaseFor = (url: string | undefined) =>
      databases.get(url ?? (fallbackUrl as string)) as Database;

    // Replicas and monoliths sharing a database tell each other what their compensations deleted.
    let invalidation: CacheInvalidation = localOnly;
    if (config.cache.redisUrl !== undefined && (plan.hostsUser || plan.hostsScore)) {
      const { connectRedisInvalidation } = await import('./cache/redis-invalidation.js');
      const redis = await connectRedisInvalidation(
        config.cache.redisUrl,
        logger.child({ component: 'cache' }),
      );
      closers.push(() => redis.close());
      invalidation = redis;
      logger.info(
        { redis: redactUrl(config.cache.redisUrl) },
        'cache invalidation across processes over Redis',
      );
    }

    // FAULTS (tests and benches only): the no-op injector when unset, and then the wrappers add nothing.
    const faults = createFaultInjector(config.faults);
    let localUsers: UserService | undefined;
    let localScores: ScoreService | undefined;
    if (plan.hostsUser)
      localUsers = withUserFaults(
        createUserService(
          createUserStore(databaseFor(config.database.userUrl).db),
          config.cache,
          metrics.cache,
          // Per user id, whoever asks (HTTP /login, gRPC verifyPassword): loose, so the owner still gets in.
          {
            passwordChecksPerId: { max: config.api.login.maxPerId, windowMs: config.api.login.windowMs },
            invalidation,
          },
        ),
        faults,
      );
    if (plan.hostsScore) {
      localScores = withScoreFaults(
        createScoreService(
          createScoreStore(databaseFor(config.database.scoreUrl).db),
          config.score,
          config.cache,
          metrics.cache,
          invalidation,
        ),
        faults,
      );
    }
    const barrierDatabases = new Set<Database>();
    if (plan.hostsUser) barrierDatabases.add(databaseFor(config.database.userUrl));
    if (plan.hostsScore) barrierDatabases.add(databaseFor(config.database.scoreUrl));
    for (const database of barrierDatabases) {
      closers.push(
        startBarrierPruner(
          database.db,
          { retentionMs: config.barrier.retentionMs, intervalMs: config.barrier.pruneIntervalMs },
          logger,
        ),
      );
    }

    // gRPC is loaded only when this process serves or calls over it (see transports/grpc/index.ts).
    const servesGrpc = config.roles.has('user') || config.roles.has('score');
    const callsGrpc =
      plan.api && (config.services.user.kind === 'grpc' || config.services.score.kind === 'grpc');
    const grpcKit = servesGrpc || callsGrpc ? await import('./transports/grpc/index.js') : undefined;

    // gRPC roles: one server each, every call checked against the service token.
    const grpc: { user?: RunningGrpcServer; score?: RunningGrpcServer } = {};
    const handlerContext = (kit: NonNullable<typeof grpcKit>): HandlerContext => ({
      authorized: kit.tokenChecker(config.grpc.serviceToken as string),
      logger: logger.child({ component: 'grpc' }),
      observe: metrics.grpcServer,
    });
    const protos = servesGrpc ? grpcKit?.loadProtos() : undefined;
    /** Serves one role over gRPC; its health follows its database (NOT_SERVING while it does not answer). */
    const serveRole = async (
      kit: NonNullable<typeof grpcKit>,
      address: ListenAddress,
      binding: ServiceBinding,
      database: Database,
    ): Promise<RunningGrpcServer> => {
      const server = await kit.startGrpcServer(
        address,
        binding,
        kit.serverCredentials(config.grpc.tls),
        {
          intervalMs: HEALTH_INTERVAL_MS,
          probe: () => answers(database),
          onChange: (serving) =>
            serving
              ? logger.info({ service: binding.name }, 'database answers again: gRPC health SERVING')
              : logger.warn({ service: binding.name }, 'database does not answer: gRPC health NOT_SERVING'),
        },
        { reflection: config.grpc.reflection },
      );
      closers.push(() => server.stop(config.api.shutdownGraceMs));
      logger.info(
        { service: binding.name, address: server.address, tls: Boolean(config.grpc.tls?.cert) },
        `${binding.name} listening (gRPC)`,
      );
      return server;
    };
    if (config.roles.has('user') && grpcKit && protos && localUsers) {
      grpc.user = await serveRole(
        grpcKit,
        config.grpc.userAddress,
        {
          name: 'user.User',
          definition: protos.user.User.service,
          implementation: grpcKit.userHandlers(localUsers, handlerContext(grpcKit)),
        },
        databaseFor(config.database.userUrl),
      );
    }
    if (config.roles.has('score') && grpcKit && protos && localScores) {
      grpc.score = await serveRole(
        grpcKit,
        config.grpc.scoreAddress,
        {
          name: 'score.UserScore',
          definition: protos.score.UserScore.service,
          implementation: grpcKit.scoreHandlers(localScores, handlerContext(grpcKit)),
        },
        databaseFor(config.database.scoreUrl),
      );
    }

    if (!plan.api) {
      // A service-only process: with METRICS_PORT, a small HTTP server for probes and scraping.
      let ops: FastifyInstance | undefined;
      if (config.http.metricsPort !== undefined) {
        const pools = [...databases.values()];
        ops = await buildOpsServer({
          logger,
          jwt: config.jwt,
          adminToken: config.api.adminToken,
          trustProxy: config.api.trustProxy,
          timeouts: httpTimeouts,
          metrics: { registry: metrics.registry, record: metrics.httpRequest },
          readiness: async () => {
            const reachable = await Promise.all(pools.map(answers));
            const checks = { database: reachable.every(Boolean) };
            return { ready: checks.database, checks };
          },
        });
        closers.push(() => (ops as FastifyInstance).close());
      }
      return {
        http: ops,
        httpPort: config.http.metricsPort,
        coordinator: undefined,
        grpc,
        metrics,
        inspector: undefined,
        close: closeAll,
      };
    }

    // The api role: the coordinator and HTTP, calling each service here or over gRPC as configured.
    const clientSettings = (kit: NonNullable<typeof grpcKit>): ClientSettings => ({
      token: config.grpc.serviceToken as string,
      deadlineMs: config.grpc.deadlineMs,
      credentials: kit.channelCredentials(config.grpc.tls),
      observe: metrics.grpcClient,
    });
    let users = localUsers as UserService;
    if (config.services.user.kind === 'grpc' && grpcKit) {
      const client = grpcKit.createUserClient(config.services.user, clientSettings(grpcKit));
      closers.push(async () => client.close());
      users = client;
      logger.info({ target: config.services.user.url }, 'user service is remote (gRPC)');
    }
    let scores = localScores as ScoreService;
    if (config.services.score.kind === 'grpc' && grpcKit) {
      const client = grpcKit.createScoreClient(config.services.score, clientSettings(grpcKit));
      closers.push(async () => client.close());
      scores = client;
      logger.info({ target: config.services.score.url }, 'score service is remote (gRPC)');
    }

    const sagaDatabase = databaseFor(config.database.sagaUrl);
    closers.push(
      startSagaPruner(
        sagaDatabase.db,
        {
          retentionMs: config.saga.retention.retentionMs,
          intervalMs: config.saga.retention.pruneIntervalMs,
        },
        logger,
      ),
    );
    const sagaLog = withSagaLogFaults(createSagaLog(sagaDatabase.db), faults);
    const secrets = createSecretBox(config.saga.secretKey);
    let inspector: SagaInspector | undefined;
    if (config.inspect.enabled) {
      // Loaded only when asked for, like gRPC: a process that is not inspected does not carry it.
      const { startSagaInspector } = await import('./observability/inspector.js');
      inspector = await startSagaInspector(config.inspect.port);
      closers.push(() => (inspector as SagaInspector).close());
      logger.info(
        { url: inspector.url },
        `Stately inspector: open ${inspector.url} in a browser (saga actors are named register:<gid>)`,
      );
    }
    const coordinator = new SagaCoordinator({
      log: sagaLog,
      leaseMs: config.saga.leaseMs,
      recoveryIntervalMs: config.saga.recoveryIntervalMs,
      timeoutMs: config.saga.timeoutMs,
      policy: config.saga.retry,
      alertRetryLimit: config.saga.alertRetryLimit,
      ...(config.saga.coordinatorId ? { owner: config.saga.coordinatorId } : {}),
      logger: logger.child({ component: 'saga' }),
      observer: metrics.sagas,
      ...(inspector ? { inspect: inspector.inspect } : {}),
    });
    coordinator.define(registerSaga, { users, scores, secrets });
    metrics.sagas.prepare(registerSaga);
    metrics.trackInFlight(() => coordinator.runningCount);
    await coordinator.start();
    closers.push(() => coordinator.stop(config.api.shutdownGraceMs));
    logger.info({ owner: coordinator.owner }, 'saga coordinator started');

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
      register: { ...config.api.register, maxInFlight: config.api.maxSagasInFlight },
      trustProxy: config.api.trustProxy,
      timeouts: httpTimeouts,
      registration,
      users,
      scores,
      sagaLog,
      sagaQueries: createSagaQueries(sagaDatabase.db),
      coordinator,
      readiness: async () => {
        const [database, migrations] = await Promise.all([
          answers(sagaDatabase),
          // Every database this process migrated still has every migration it ships.
          withTimeout(
            Promise.all(
              [...setsByUrl].map(([url, sets]) => migrationsApplied(databaseFor(url).pool, [...sets])),
            ),
            READINESS_TIMEOUT_MS,
          ).then(
            (each) => each.every(Boolean),
            () => false,
          ),
        ]);
        const checks = { database, migrations, recovery: coordinator.healthy };
        return { ready: Object.values(checks).every(Boolean), checks };
      },
      metrics: { registry: metrics.registry, record: metrics.httpRequest },
    });
    // Closed first: no new requests while the coordinator drains.
    closers.push(() => http.close());
    return { http, httpPort: config.http.port, coordinator, grpc, metrics, inspector, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
