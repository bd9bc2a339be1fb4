// Original file: proto/score.proto

import type { Long } from '@grpc/proto-loader';

export interface UserIdRequest {
  'userId'?: (number | string | Long);
}

export interface UserIdRequest__Output {
  'userId': (string);
}
