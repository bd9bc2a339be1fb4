import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { UserIdRequest as _score_UserIdRequest, UserIdRequest__Output as _score_UserIdRequest__Output } from './score/UserIdRequest.js';
import type { UserScoreClient as _score_UserScoreClient, UserScoreDefinition as _score_UserScoreDefinition } from './score/UserScore.js';
import type { UserScoreRequest as _score_UserScoreRequest, UserScoreRequest__Output as _score_UserScoreRequest__Output } from './score/UserScoreRequest.js';
import type { UserScoreResponse as _score_UserScoreResponse, UserScoreResponse__Output as _score_UserScoreResponse__Output } from './score/UserScoreResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  score: {
    UserIdRequest: MessageTypeDefinition<_score_UserIdRequest, _score_UserIdRequest__Output>
    UserScore: SubtypeConstructor<typeof grpc.Client, _score_UserScoreClient> & { service: _score_UserScoreDefinition }
    UserScoreRequest: MessageTypeDefinition<_score_UserScoreRequest, _score_UserScoreRequest__Output>
    UserScoreResponse: MessageTypeDefinition<_score_UserScoreResponse, _score_UserScoreResponse__Output>
  }
}

