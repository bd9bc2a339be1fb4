// Original file: proto/score.proto

import type { Long } from '@grpc/proto-loader';

export interface UserScoreResponse {
  'userId'?: (number | string | Long);
  'score'?: (number);
  'barrier'?: (string);
}

export interface UserScoreResponse__Output {
  'userId': (string);
  'score': (number);
  'barrier': (string);
}
