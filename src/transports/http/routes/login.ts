import type {} from '@fastify/rate-limit'; // types: app.createRateLimit and the route's rateLimit config
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { RateLimited, Unauthenticated } from '../../../domain/errors.js';
import { PASSWORD_MAX } from '../../../domain/password.js';
import type { UserService } from '../../../domain/user-service.js';
import { commonErrors, errorsOf, UserId } from '../schemas.js';

export interface LoginRouteOptions {
  readonly users: UserService;
  readonly limits: { readonly maxPerId: number; readonly maxPerClient: number; readonly windowMs: number };
}

export const loginRoute: FastifyPluginAsyncTypebox<LoginRouteOptions> = async (app, { users, limits }) => {
  // Per client address by the route config below; per target id here, so guessing one user's password
  // from many addresses is slowed down too.
  const perId = app.createRateLimit({
    max: limits.maxPerId,
    timeWindow: limits.windowMs,
    keyGenerator: (request) => `login-id:${(request.body as { id?: unknown } | undefined)?.id}`,
  });

  app.post(
    '/login',
    {
      config: { rateLimit: { max: limits.maxPerClient, timeWindow: limits.windowMs } },
      schema: {
        summary: 'Log in: an HS256 JWT with the claims exp, iat and userId',
        tags: ['users'],
        body: Type.Object(
          { id: UserId, password: Type.String({ minLength: 1, maxLength: PASSWORD_MAX }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ token: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }),
          ...commonErrors,
          ...errorsOf('invalid_credentials', 'rate_limited'),
        },
      },
      preHandler: async (request, reply) => {
        const limit = await perId(request);
        // isAllowed means "on the allow list"; the limit itself is in isExceeded.
        if (!limit.isAllowed && limit.isExceeded) {
          reply.header('retry-after', String(limit.ttlInSeconds));
          throw new RateLimited('too many login attempts for this user, try again later');
        }
      },
    },
    async (request) => {
      const { id, password } = request.body;
      // One answer for an unknown id and a wrong password, so the response does not tell which ids exist.
      if (!(await users.verifyPassword(id, password))) throw new Unauthenticated('invalid_credentials');
      return app.issueToken(id);
    },
  );
};
