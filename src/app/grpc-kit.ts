import type { Plan } from './plan.js';

export type GrpcKit = typeof import('../transports/grpc/index.js');

/** gRPC is loaded only when this process serves or calls over it (see transports/grpc/index.ts). */
export async function loadGrpcKit(plan: Plan): Promise<GrpcKit | undefined> {
  return plan.usesGrpc ? await import('../transports/grpc/index.js') : undefined;
}
