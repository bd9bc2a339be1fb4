// Original file: proto/user.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { IdRequest as _user_IdRequest, IdRequest__Output as _user_IdRequest__Output } from '../user/IdRequest.js';
import type { UserRequest as _user_UserRequest, UserRequest__Output as _user_UserRequest__Output } from '../user/UserRequest.js';
import type { UserResponse as _user_UserResponse, UserResponse__Output as _user_UserResponse__Output } from '../user/UserResponse.js';
import type { VerifyPasswordRequest as _user_VerifyPasswordRequest, VerifyPasswordRequest__Output as _user_VerifyPasswordRequest__Output } from '../user/VerifyPasswordRequest.js';
import type { VerifyPasswordResponse as _user_VerifyPasswordResponse, VerifyPasswordResponse__Output as _user_VerifyPasswordResponse__Output } from '../user/VerifyPasswordResponse.js';

export interface UserClient extends grpc.Client {
  getUser(argument: _user_IdRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  getUser(argument: _user_IdRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  getUser(argument: _user_IdRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  getUser(argument: _user_IdRequest, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  
  saveUser(argument: _user_UserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUser(argument: _user_UserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUser(argument: _user_UserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUser(argument: _user_UserRequest, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  
  saveUserCallback(argument: _user_UserRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUserCallback(argument: _user_UserRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUserCallback(argument: _user_UserRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  saveUserCallback(argument: _user_UserRequest, callback: grpc.requestCallback<_user_UserResponse__Output>): grpc.ClientUnaryCall;
  
  verifyPassword(argument: _user_VerifyPasswordRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_user_VerifyPasswordResponse__Output>): grpc.ClientUnaryCall;
  verifyPassword(argument: _user_VerifyPasswordRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_user_VerifyPasswordResponse__Output>): grpc.ClientUnaryCall;
  verifyPassword(argument: _user_VerifyPasswordRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_user_VerifyPasswordResponse__Output>): grpc.ClientUnaryCall;
  verifyPassword(argument: _user_VerifyPasswordRequest, callback: grpc.requestCallback<_user_VerifyPasswordResponse__Output>): grpc.ClientUnaryCall;
  
}

export interface UserHandlers extends grpc.UntypedServiceImplementation {
  getUser: grpc.handleUnaryCall<_user_IdRequest__Output, _user_UserResponse>;
  
  saveUser: grpc.handleUnaryCall<_user_UserRequest__Output, _user_UserResponse>;
  
  saveUserCallback: grpc.handleUnaryCall<_user_UserRequest__Output, _user_UserResponse>;
  
  verifyPassword: grpc.handleUnaryCall<_user_VerifyPasswordRequest__Output, _user_VerifyPasswordResponse>;
  
}

export interface UserDefinition extends grpc.ServiceDefinition {
  getUser: MethodDefinition<_user_IdRequest, _user_UserResponse, _user_IdRequest__Output, _user_UserResponse__Output>
  saveUser: MethodDefinition<_user_UserRequest, _user_UserResponse, _user_UserRequest__Output, _user_UserResponse__Output>
  saveUserCallback: MethodDefinition<_user_UserRequest, _user_UserResponse, _user_UserRequest__Output, _user_UserResponse__Output>
  verifyPassword: MethodDefinition<_user_VerifyPasswordRequest, _user_VerifyPasswordResponse, _user_VerifyPasswordRequest__Output, _user_VerifyPasswordResponse__Output>
}
