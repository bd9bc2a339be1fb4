import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../observability/metrics.js';
import { buildOpsServer } from '../transports/http/http-server.js';
import type { Closers } from './closers.js';
import { answers, type Databases } from './databases.js';

/** A service-only process: with METRICS_PORT, a small HTTP server for probes and scraping. */
export async function startServiceOps(
  config: Config,
  databases: Databases,
  metrics: Metrics,
  logger: Logger,
  closers: Closers,
): Promise<FastifyInstance | undefined> {
  // Only the saga log can tell a barrier row still needed from an old one: pruning by age here would
  // turn a late compensation into a null compensation.
  logger.info(
    { roles: [...config.roles] },
    'barrier table pruned by the api process (barrier.Barriers/prune), not here',
  );
  if (config.http.metricsPort === undefined) return undefined;
  const ops = await buildOpsServer({
    logger,
    jwt: config.jwt,
    adminToken: config.api.adminToken,
    trustProxy: config.api.trustProxy,
    timeouts: { requestMs: config.http.requestTimeoutMs, connectionMs: config.http.connectionTimeoutMs },
    metrics: { registry: metrics.registry, record: metrics.httpRequest },
    readiness: async () => {
      const reachable = await Promise.all(databases.all.map(answers));
      const checks = { database: reachable.every(Boolean) };
      return { ready: checks.database, checks };
    },
  });
  closers.add(() => ops.close());
  return ops;
}
