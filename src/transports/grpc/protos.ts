import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { projectRoot } from '../../project-root.js';
import type { ProtoGrpcType as BarrierProto } from './generated/barrier.js';
import type { ProtoGrpcType as ScoreProto } from './generated/score.js';
import type { ProtoGrpcType as UserProto } from './generated/user.js';

const protoDir = join(projectRoot, 'proto');

/** The same options the types were generated with (package.json, proto:generate): keep them in step. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [protoDir],
};

export interface Protos {
  readonly definition: protoLoader.PackageDefinition;
  readonly user: UserProto['user'];
  readonly score: ScoreProto['score'];
  readonly barrier: BarrierProto['barrier'];
}

let loaded: Protos | undefined;

export function loadProtos(): Protos {
  if (!loaded) {
    const definition = protoLoader.loadSync(['user.proto', 'score.proto', 'barrier.proto'], LOADER_OPTIONS);
    const root = grpc.loadPackageDefinition(definition) as unknown as UserProto & ScoreProto & BarrierProto;
    loaded = { definition, user: root.user, score: root.score, barrier: root.barrier };
  }
  return loaded;
}
