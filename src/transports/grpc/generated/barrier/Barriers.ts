// Original file: proto/barrier.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PruneRequest as _barrier_PruneRequest, PruneRequest__Output as _barrier_PruneRequest__Output } from '../barrier/PruneRequest.js';
import type { PruneResponse as _barrier_PruneResponse, PruneResponse__Output as _barrier_PruneResponse__Output } from '../barrier/PruneResponse.js';

export interface BarriersClient extends grpc.Client {
  prune(argument: _barrier_PruneRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_barrier_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _barrier_PruneRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_barrier_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _barrier_PruneRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_barrier_PruneResponse__Output>): grpc.ClientUnaryCall;
  prune(argument: _barrier_PruneRequest, callback: grpc.requestCallback<_barrier_PruneResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface BarriersHandlers extends grpc.UntypedServiceImplementation {
  prune: grpc.handleUnaryCall<_barrier_PruneRequest__Output, _barrier_PruneResponse>;
  
}

export interface BarriersDefinition extends grpc.ServiceDefinition {
  prune: MethodDefinition<_barrier_PruneRequest, _barrier_PruneResponse, _barrier_PruneRequest__Output, _barrier_PruneResponse__Output>
}
