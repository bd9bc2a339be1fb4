import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BarriersClient as _barrier_BarriersClient, BarriersDefinition as _barrier_BarriersDefinition } from './barrier/Barriers.js';
import type { PruneRequest as _barrier_PruneRequest, PruneRequest__Output as _barrier_PruneRequest__Output } from './barrier/PruneRequest.js';
import type { PruneResponse as _barrier_PruneResponse, PruneResponse__Output as _barrier_PruneResponse__Output } from './barrier/PruneResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  barrier: {
    Barriers: SubtypeConstructor<typeof grpc.Client, _barrier_BarriersClient> & { service: _barrier_BarriersDefinition }
    PruneRequest: MessageTypeDefinition<_barrier_PruneRequest, _barrier_PruneRequest__Output>
    PruneResponse: MessageTypeDefinition<_barrier_PruneResponse, _barrier_PruneResponse__Output>
  }
}

