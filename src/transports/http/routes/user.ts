import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NotFound, Unauthenticated } from '../../../domain/errors.js';
import type { ScoreService } from '../../../domain/score-service.js';
import type { UserService } from '../../../domain/user-service.js';
import { tokenFitsUser } from '../plugins/auth.js';
import { commonErrors, errorsOf, UserId } from '../schemas.js';

export interface UserRouteOptions {
  readonly users: UserService;
  readonly scores: ScoreService;
}

export const userRoute: FastifyPluginAsyncTypebox<UserRouteOptions> = async (app, { users, scores }) => {
  app.get(
    '/user',
    {
      schema: {
        summary: 'The logged-in user (id from the token), read through the cache',
        tags: ['users'],
        security: [{ bearer: [] }],
        response: {
          200: Type.Object({
            id: UserId,
            name: Type.String(),
            gender: Type.String(),
            score: Type.Union([Type.Integer(), Type.Null()], {
              description: 'null while the registration saga has not stored it yet',
            }),
          }),
          ...commonErrors,
          ...errorsOf('unauthenticated', 'user_not_found'),
        },
      },
    },
    async (request) => {
      const token = await app.authenticatedToken(request);
      const id = token.userId;
      const [user, score] = await Promise.all([
        users.getUser(id),
        scores.getUserScore(id).then(
          (found) => found.score,
          (error: unknown) => {
            if (error instanceof NotFound) return null;
            throw error;
          },
        ),
      ]);
      if (!tokenFitsUser(token, user.createdAt)) {
        throw new Unauthenticated(
          'unauthenticated',
          'the token was issued for an earlier account with this id',
        );
      }
      return { id: user.id, name: user.name, gender: user.gender, score };
    },
  );
};
