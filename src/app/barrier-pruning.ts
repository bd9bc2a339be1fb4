import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createBarrierTable, type PruneTarget, startBarrierPruner } from '../db/barrier-prune.js';
import type { Database } from '../db/connection.js';
import type { SagaQueries } from '../domain/saga-queries.js';
import type { Metrics } from '../observability/metrics.js';
import type { Closers } from './closers.js';
import type { Databases } from './databases.js';
import type { GrpcKit } from './grpc-kit.js';
import { clientSettings } from './services.js';

/**
 * Barrier pruning lives with the saga log, which says which rows are still needed: the api process
 * prunes the tables it reaches directly, and each remote service's over gRPC.
 */
export function startBarrierPruning(
  config: Config,
  databases: Databases,
  sagaQueries: SagaQueries,
  kit: GrpcKit | undefined,
  metrics: Metrics,
  logger: Logger,
  closers: Closers,
): void {
  const targets: PruneTarget[] = [];
  const local = new Map<Database, string>();
  if (databases.user) local.set(databases.user, 'user');
  if (databases.score) local.set(databases.score, local.has(databases.score) ? 'user+score' : 'score');
  for (const [database, name] of local) targets.push({ name, table: createBarrierTable(database.db) });
  for (const [name, service] of Object.entries(config.services)) {
    if (service.kind !== 'grpc' || !kit) continue;
    const client = kit.createBarrierClient(service, clientSettings(config, kit, metrics));
    closers.add(async () => client.close());
    targets.push({ name: `${name} (${service.url})`, table: client });
  }
  closers.add(
    startBarrierPruner(
      sagaQueries,
      targets,
      { retentionMs: config.barrier.retentionMs, intervalMs: config.barrier.pruneIntervalMs },
      logger,
    ),
  );
}
