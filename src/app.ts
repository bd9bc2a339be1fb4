import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startApi } from './app/api.js';
import { cacheInvalidation } from './app/cache-invalidation.js';
import { Closers } from './app/closers.js';
import { openDatabases } from './app/databases.js';
import { loadGrpcKit } from './app/grpc-kit.js';
import { type GrpcServers, serveGrpcRoles } from './app/grpc-roles.js';
import { planOf } from './app/plan.js';
import { startServiceOps } from './app/service-ops.js';
import { localServices } from './app/services.js';
import type { Config } from './config.js';
import { createFaultInjector } from './faults/fault-injector.js';
import type { SagaCoordinator, SagaTracing } from './machines/runtime/saga-coordinator.js';
import type { SagaInspector } from './observability/inspector.js';
import { createMetrics, type Metrics } from './observability/metrics.js';

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
  readonly grpc: GrpcServers;
  /** This instance's metrics registry (GET /metrics). */
  readonly metrics: Metrics;
  /** The Stately inspector's local server, when INSPECT is on (api role). */
  readonly inspector: SagaInspector | undefined;
  close(): Promise<void>;
}

/**
 * Builds the process from its configuration. One process can be the whole monolith (api, user and score
 * roles, services called in-process) or any one role of the split deployment, where the api's
 * coordinator reaches the services over gRPC. Nothing below the transports knows which.
 */
export async function buildApp(
  config: Config,
  logger: Logger,
  options: {
    /** Spans for sagas and their steps, when tracing is on (observability/tracing, started by main.ts). */
    readonly sagaTracing?: SagaTracing;
  } = {},
): Promise<App> {
  const plan = planOf(config);
  const metrics = createMetrics();
  const closers = new Closers(logger);
  const close = () => closers.closeAll();
  try {
    const databases = await openDatabases(config, plan, logger, metrics, closers);
    // FAULTS (tests and benches only): the no-op injector when unset, and then the wrappers add nothing.
    const faults = createFaultInjector(config.faults);
    // Replicas and monoliths sharing a database tell each other what their compensations deleted.
    const invalidation = await cacheInvalidation(config, plan, logger, closers);
    const local = localServices(config, databases, metrics, faults, invalidation);
    const kit = await loadGrpcKit(plan);
    const grpc = await serveGrpcRoles(config, kit, local, databases, metrics, logger, closers);
    if (!plan.api) {
      const ops = await startServiceOps(config, databases, metrics, logger, closers);
      return {
        http: ops,
        httpPort: config.http.metricsPort,
        coordinator: undefined,
        grpc,
        metrics,
        inspector: undefined,
        close,
      };
    }
    const api = await startApi(
      config,
      databases,
      local,
      kit,
      faults,
      metrics,
      logger,
      closers,
      options.sagaTracing,
    );
    return { ...api, httpPort: config.http.port, grpc, metrics, close };
  } catch (error) {
    await close();
    throw error;
  }
}
