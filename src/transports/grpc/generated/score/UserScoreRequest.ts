// Original file: proto/score.proto

import type { Long } from '@grpc/proto-loader';

export interface UserScoreRequest {
  'userId'?: (number | string | Long);
  'score'?: (number);
}

export interface UserScoreRequest__Output {
  'userId': (string);
  'score': (number);
}
