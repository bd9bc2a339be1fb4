import type { BarrierTable } from '../../domain/barrier-prune.js';
import type { BarriersClient } from './generated/barrier/Barriers.js';
import type { PruneRequest } from './generated/barrier/PruneRequest.js';
import type { PruneResponse__Output } from './generated/barrier/PruneResponse.js';
import type { ServiceTarget } from './grpc-address.js';
import {
  type ClientSettings,
  type Closable,
  callUnary,
  channelOptions,
  type UnaryMethod,
} from './grpc-client.js';
import { loadProtos } from './protos.js';

/** A remote service's barrier table, pruned through its barrier.Barriers service. */
export function createBarrierClient(
  target: ServiceTarget,
  settings: ClientSettings,
): BarrierTable & Closable {
  const { barrier } = loadProtos();
  const client = new barrier.Barriers(
    target.target,
    settings.credentials,
    channelOptions(),
  ) as unknown as BarriersClient;
  const prune: UnaryMethod<PruneRequest, PruneResponse__Output> = (r, m, o, c) => client.prune(r, m, o, c);

  return {
    async pruneBatch(request, signal) {
      const response = await callUnary(
        settings,
        'barrier.Barriers/prune',
        prune,
        {
          // Rounded up: a row a little younger than asked stays until the next pass.
          olderThanSeconds: Math.ceil(request.olderThanMs / 1_000),
          keepGids: [...request.keepGids],
          batchSize: request.batchSize,
        },
        undefined,
        signal,
      );
      return response.deleted;
    },
    close: () => client.close(),
  };
}
