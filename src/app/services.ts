import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createScoreStore } from '../db/score-store.js';
import { createUserStore } from '../db/user-store.js';
import type { CacheInvalidation } from '../domain/cache.js';
import { createScoreService, type ScoreService } from '../domain/score-service.js';
import { createUserService, type UserService } from '../domain/user-service.js';
import type { FaultInjector } from '../faults/fault-injector.js';
import { withScoreFaults, withUserFaults } from '../faults/fault-wrappers.js';
import type { Metrics } from '../observability/metrics.js';
import type { ClientSettings } from '../transports/grpc/grpc-client.js';
import type { Closers } from './closers.js';
import type { Databases } from './databases.js';
import type { GrpcKit } from './grpc-kit.js';

/** The services this process hosts, over their databases (with FAULTS around them in tests). */
export interface LocalServices {
  readonly users: UserService | undefined;
  readonly scores: ScoreService | undefined;
}

export function localServices(
  config: Config,
  databases: Databases,
  metrics: Metrics,
  faults: FaultInjector,
  invalidation: CacheInvalidation,
): LocalServices {
  return {
    users:
      databases.user &&
      withUserFaults(
        createUserService(createUserStore(databases.user.db), config.cache, metrics.cache, {
          // Per user id, whoever asks (HTTP /login, gRPC verifyPassword): loose, so the owner still gets in.
          passwordChecksPerId: { max: config.api.login.maxPerId, windowMs: config.api.login.windowMs },
          invalidation,
        }),
        faults,
      ),
    scores:
      databases.score &&
      withScoreFaults(
        createScoreService(
          createScoreStore(databases.score.db),
          config.score,
          config.cache,
          metrics.cache,
          invalidation,
        ),
        faults,
      ),
  };
}

/** How this process's gRPC clients call: token, deadline, TLS, metrics. */
export function clientSettings(config: Config, kit: GrpcKit, metrics: Metrics): ClientSettings {
  return {
    token: config.grpc.serviceToken as string,
    deadlineMs: config.grpc.deadlineMs,
    credentials: kit.channelCredentials(config.grpc.tls),
    observe: metrics.grpcClient,
  };
}

/** The services the api calls: the local one, or a gRPC client where the configuration says so. */
export function apiServices(
  config: Config,
  local: LocalServices,
  kit: GrpcKit | undefined,
  metrics: Metrics,
  logger: Logger,
  closers: Closers,
): { readonly users: UserService; readonly scores: ScoreService } {
  let users = local.users as UserService;
  if (config.services.user.kind === 'grpc' && kit) {
    const client = kit.createUserClient(config.services.user, clientSettings(config, kit, metrics));
    closers.add(async () => client.close());
    users = client;
    logger.info({ target: config.services.user.url }, 'user service is remote (gRPC)');
  }
  let scores = local.scores as ScoreService;
  if (config.services.score.kind === 'grpc' && kit) {
    const client = kit.createScoreClient(config.services.score, clientSettings(config, kit, metrics));
    closers.add(async () => client.close());
    scores = client;
    logger.info({ target: config.services.score.url }, 'score service is remote (gRPC)');
  }
  return { users, scores };
}
