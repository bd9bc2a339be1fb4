import { TransientFailure } from '../../domain/errors.js';
import { parseUserId } from '../../domain/user.js';
import type { UserService } from '../../domain/user-service.js';
import type { IdRequest } from './generated/user/IdRequest.js';
import type { UserClient } from './generated/user/User.js';
import type { UserRequest } from './generated/user/UserRequest.js';
import type { UserResponse__Output } from './generated/user/UserResponse.js';
import type { VerifyPasswordRequest } from './generated/user/VerifyPasswordRequest.js';
import type { VerifyPasswordResponse__Output } from './generated/user/VerifyPasswordResponse.js';
import type { ServiceTarget } from './grpc-address.js';
import {
  barrierOutcome,
  type ClientSettings,
  type Closable,
  callUnary,
  channelOptions,
  type UnaryMethod,
} from './grpc-client.js';
import { branchMetadata } from './metadata.js';
import { loadProtos } from './protos.js';

/** The domain's UserService over gRPC: the coordinator and the API use it exactly like the local one. */
export function createUserClient(target: ServiceTarget, settings: ClientSettings): UserService & Closable {
  const { user } = loadProtos();
  const client = new user.User(
    target.target,
    settings.credentials,
    channelOptions(),
  ) as unknown as UserClient;
  // Explicit signatures pick the (request, metadata, options, callback) overload of each generated method.
  const saveUser: UnaryMethod<UserRequest, UserResponse__Output> = (r, m, o, c) =>
    client.saveUser(r, m, o, c);
  const saveUserCallback: UnaryMethod<UserRequest, UserResponse__Output> = (r, m, o, c) =>
    client.saveUserCallback(r, m, o, c);
  const getUser: UnaryMethod<IdRequest, UserResponse__Output> = (r, m, o, c) => client.getUser(r, m, o, c);
  const verifyPassword: UnaryMethod<VerifyPasswordRequest, VerifyPasswordResponse__Output> = (r, m, o, c) =>
    client.verifyPassword(r, m, o, c);

  return {
    async saveUser(branch, input, options) {
      const response = await callUnary(
        settings,
        'user.User/saveUser',
        saveUser,
        {
          id: String(input.id),
          name: input.name,
          gender: input.gender,
          ...(input.passwordHash ? { passwordHash: input.passwordHash } : {}),
        },
        branchMetadata(branch),
        options?.signal,
      );
      return {
        outcome: barrierOutcome(response.barrier),
        value: {
          id: parseUserId(response.id || String(input.id)),
          name: response.name,
          gender: response.gender,
        },
      };
    },

    async saveUserCallback(branch, target_, options) {
      const response = await callUnary(
        settings,
        'user.User/saveUserCallback',
        saveUserCallback,
        { id: String(target_.id) },
        branchMetadata(branch),
        options?.signal,
      );
      return { outcome: barrierOutcome(response.barrier), value: null };
    },

    async getUser(id) {
      const response = await callUnary(settings, 'user.User/getUser', getUser, { id: String(id) });
      // A server older than the createdAt field sends none: the epoch, so every token of its users fits.
      const createdAt = new Date(response.createdAt || 0);
      if (Number.isNaN(createdAt.getTime())) {
        throw new TransientFailure(
          'unavailable',
          `remote user service: bad createdAt "${response.createdAt}"`,
        );
      }
      return { id: parseUserId(response.id), name: response.name, gender: response.gender, createdAt };
    },

    async verifyPassword(id, password) {
      const response = await callUnary(settings, 'user.User/verifyPassword', verifyPassword, {
        id: String(id),
        password,
      });
      return response.ok === true;
    },

    close: () => client.close(),
  };
}
