import { parseUserId, type StoredUser, type User } from '../../domain/user.js';
import type { UserService } from '../../domain/user-service.js';
import type { UserHandlers } from './generated/user/User.js';
import type { UserResponse } from './generated/user/UserResponse.js';
import { compensationBranch, forwardBranch, type HandlerContext, unary } from './unary.js';

function response(user: User | StoredUser, barrier = ''): UserResponse {
  const createdAt = 'createdAt' in user ? user.createdAt.toISOString() : '';
  return { id: String(user.id), name: user.name, gender: user.gender, barrier, createdAt };
}

/** The `user.User` gRPC service over the domain's UserService (the tutorial's method names and messages). */
export function userHandlers(users: UserService, context: HandlerContext): UserHandlers {
  return {
    saveUser: unary(context, 'user.User/saveUser', async (request, metadata) => {
      const branch = forwardBranch(metadata);
      const reply = await users.saveUser(branch, {
        id: parseUserId(request.id),
        name: request.name,
        gender: request.gender,
        passwordHash: request._passwordHash === 'passwordHash' ? (request.passwordHash ?? null) : null,
      });
      return response(reply.value, reply.outcome);
    }),

    saveUserCallback: unary(
      context,
      'user.User/saveUserCallback',
      async (request, metadata) => {
        const branch = compensationBranch(metadata);
        const id = parseUserId(request.id);
        const reply = await users.saveUserCallback(branch, { id });
        return { id: String(id), name: '', gender: '', barrier: reply.outcome };
      },
      { compensation: true },
    ),

    getUser: unary(context, 'user.User/getUser', async (request) =>
      response(await users.getUser(parseUserId(request.id))),
    ),

    verifyPassword: unary(context, 'user.User/verifyPassword', async (request) => ({
      ok: await users.verifyPassword(parseUserId(request.id), request.password),
    })),
  };
}
