// Original file: proto/barrier.proto


export interface PruneResponse {
  'deleted'?: (number);
}

export interface PruneResponse__Output {
  'deleted': (number);
}
