import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createBarrierTable } from '../db/barrier-prune.js';
import type { Database } from '../db/connection.js';
import type { Metrics } from '../observability/metrics.js';
import type { ListenAddress } from '../transports/grpc/grpc-address.js';
import type { RunningGrpcServer, ServiceBinding } from '../transports/grpc/grpc-server.js';
import type { HandlerContext } from '../transports/grpc/unary.js';
import type { Closers } from './closers.js';
import { answers, type Databases } from './databases.js';
import type { GrpcKit } from './grpc-kit.js';
import type { LocalServices } from './services.js';

const HEALTH_INTERVAL_MS = 2_000;

export interface GrpcServers {
  readonly user?: RunningGrpcServer;
  readonly score?: RunningGrpcServer;
}

/**
 * Serves the `user` and `score` roles this process has over gRPC, one server each, every call checked
 * against the service token. Beside each role's service, `barrier.Barriers`: the api process prunes this
 * database's barrier table through it.
 */
export async function serveGrpcRoles(
  config: Config,
  kit: GrpcKit | undefined,
  services: LocalServices,
  databases: Databases,
  metrics: Metrics,
  logger: Logger,
  closers: Closers,
): Promise<GrpcServers> {
  if (!kit || !(config.roles.has('user') || config.roles.has('score'))) return {};
  const protos = kit.loadProtos();
  const context: HandlerContext = {
    authorized: kit.tokenChecker(config.grpc.serviceToken as string),
    logger: logger.child({ component: 'grpc' }),
    observe: metrics.grpcServer,
  };
  /** One role's server; its health follows its database (NOT_SERVING while it does not answer). */
  const serve = async (address: ListenAddress, binding: ServiceBinding, database: Database) => {
    const barriers: ServiceBinding = {
      name: 'barrier.Barriers',
      definition: protos.barrier.Barriers.service,
      implementation: kit.barrierHandlers(createBarrierTable(database.db), context),
    };
    const server = await kit.startGrpcServer(
      address,
      [binding, barriers],
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
    closers.add(() => server.stop(config.api.shutdownGraceMs));
    logger.info(
      { service: binding.name, address: server.address, tls: Boolean(config.grpc.tls?.cert) },
      `${binding.name} listening (gRPC)`,
    );
    return server;
  };
  const servers: { user?: RunningGrpcServer; score?: RunningGrpcServer } = {};
  if (config.roles.has('user') && services.users && databases.user) {
    servers.user = await serve(
      config.grpc.userAddress,
      {
        name: 'user.User',
        definition: protos.user.User.service,
        implementation: kit.userHandlers(services.users, context),
      },
      databases.user,
    );
  }
  if (config.roles.has('score') && services.scores && databases.score) {
    servers.score = await serve(
      config.grpc.scoreAddress,
      {
        name: 'score.UserScore',
        definition: protos.score.UserScore.service,
        implementation: kit.scoreHandlers(services.scores, context),
      },
      databases.score,
    );
  }
  return servers;
}
