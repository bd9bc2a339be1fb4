// Original file: proto/score.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { UserIdRequest as _score_UserIdRequest, UserIdRequest__Output as _score_UserIdRequest__Output } from '../score/UserIdRequest.js';
import type { UserScoreRequest as _score_UserScoreRequest, UserScoreRequest__Output as _score_UserScoreRequest__Output } from '../score/UserScoreRequest.js';
import type { UserScoreResponse as _score_UserScoreResponse, UserScoreResponse__Output as _score_UserScoreResponse__Output } from '../score/UserScoreResponse.js';

export interface UserScoreClient extends grpc.Client {
  getUserScore(argument: _score_UserIdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  getUserScore(argument: _score_UserIdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  getUserScore(argument: _score_UserIdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  getUserScore(argument: _score_UserIdRequest, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  
  saveUserScore(argument: _score_UserScoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScore(argument: _score_UserScoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScore(argument: _score_UserScoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScore(argument: _score_UserScoreRequest, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  
  saveUserScoreCallback(argument: _score_UserScoreRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScoreCallback(argument: _score_UserScoreRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScoreCallback(argument: _score_UserScoreRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  saveUserScoreCallback(argument: _score_UserScoreRequest, callback: grpc.requestCallback<_score_UserScoreResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface UserScoreHandlers extends grpc.UntypedServiceImplementation {
  getUserScore: grpc.handleUnaryCall<_score_UserIdRequest__Output, _score_UserScoreResponse>;
  
  saveUserScore: grpc.handleUnaryCall<_score_UserScoreRequest__Output, _score_UserScoreResponse>;
  
  saveUserScoreCallback: grpc.handleUnaryCall<_score_UserScoreRequest__Output, _score_UserScoreResponse>;
  
}

export interface UserScoreDefinition extends grpc.ServiceDefinition {
  getUserScore: MethodDefinition<_score_UserIdRequest, _score_UserScoreResponse, _score_UserIdRequest__Output, _score_UserScoreResponse__Output>
  saveUserScore: MethodDefinition<_score_UserScoreRequest, _score_UserScoreResponse, _score_UserScoreRequest__Output, _score_UserScoreResponse__Output>
  saveUserScoreCallback: MethodDefinition<_score_UserScoreRequest, _score_UserScoreResponse, _score_UserScoreRequest__Output, _score_UserScoreResponse__Output>
}
