import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { IdRequest as _user_IdRequest, IdRequest__Output as _user_IdRequest__Output } from './user/IdRequest.js';
import type { UserClient as _user_UserClient, UserDefinition as _user_UserDefinition } from './user/User.js';
import type { UserRequest as _user_UserRequest, UserRequest__Output as _user_UserRequest__Output } from './user/UserRequest.js';
import type { UserResponse as _user_UserResponse, UserResponse__Output as _user_UserResponse__Output } from './user/UserResponse.js';
import type { VerifyPasswordRequest as _user_VerifyPasswordRequest, VerifyPasswordRequest__Output as _user_VerifyPasswordRequest__Output } from './user/VerifyPasswordRequest.js';
import type { VerifyPasswordResponse as _user_VerifyPasswordResponse, VerifyPasswordResponse__Output as _user_VerifyPasswordResponse__Output } from './user/VerifyPasswordResponse.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  user: {
    IdRequest: MessageTypeDefinition<_user_IdRequest, _user_IdRequest__Output>
    User: SubtypeConstructor<typeof grpc.Client, _user_UserClient> & { service: _user_UserDefinition }
    UserRequest: MessageTypeDefinition<_user_UserRequest, _user_UserRequest__Output>
    UserResponse: MessageTypeDefinition<_user_UserResponse, _user_UserResponse__Output>
    VerifyPasswordRequest: MessageTypeDefinition<_user_VerifyPasswordRequest, _user_VerifyPasswordRequest__Output>
    VerifyPasswordResponse: MessageTypeDefinition<_user_VerifyPasswordResponse, _user_VerifyPasswordResponse__Output>
  }
}

