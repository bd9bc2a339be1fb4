import type {} from '@fastify/rate-limit'; // types: app.createRateLimit and the route's rateLimit config
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { BusinessFailure, NotFound, RateLimited, Unauthenticated } from '../../../domain/errors.js';
import { PASSWORD_MAX } from '../../../domain/password.js';
import type { SagaQueries } from '../../../domain/saga-queries.js';
import type { UserService } from '../../../domain/user-service.js';
import { clientKey } from '../client-key.js';
import { commonErrors, errorsOf, UserId } from '../schemas.js';

export interface LoginRouteOptions {
  readonly users: UserService;
  /** Where the saga that registered a user is found: its type, by subject (the user id). */
  readonly registrations: { readonly queries: SagaQueries; readonly type: string };
  /** Attempts per window: per (id, client), per client; the loose per-id limit is the user service's. */
  readonly limits: {
    readonly maxPerIdAndClient: number;
    readonly maxPerClient: number;
    readonly windowMs: number;
  };
}

export const loginRoute: FastifyPluginAsyncTypebox<LoginRouteOptions> = async (
  app,
  { users, limits, registrations },
) => {
  // Three limits. Per client by the route config below (one address trying many ids); strictly per
  // (id, client) here (one address guessing one password); loosely per id in the user service (many
  // addresses guessing one password). A strict limit per id alone let anyone lock the owner out with
  // ten wrong passwords a minute (issue #14); per (id, client), the owner's own address keeps its budget.
  const perIdAndClient = app.createRateLimit({
    max: limits.maxPerIdAndClient,
    timeWindow: limits.windowMs,
    keyGenerator: (request) =>
      `login:${(request.body as { id?: unknown } | undefined)?.id}:${clientKey(request.ip)}`,
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
          ...errorsOf('invalid_credentials', 'rate_limited', 'registration_incomplete'),
        },
      },
      preHandler: async (request) => {
        const limit = await perIdAndClient(request);
        // isAllowed means "on the allow list"; the limit itself is in isExceeded.
        if (!limit.isAllowed && limit.isExceeded) {
          throw new RateLimited('too many login attempts for this user from here, try again later', {
            retryAfterSeconds: limit.ttlInSeconds,
          });
        }
      },
    },
    async (request) => {
      const { id, password } = request.body;
      // One answer for an unknown id and a wrong password, so the response does not tell which ids exist.
      if (!(await users.verifyPassword(id, password))) throw new Unauthenticated('invalid_credentials');
      const user = await users.getUser(id).catch((error: unknown) => {
        // Deleted since the check (a compensation): as if it had never been there.
        if (error instanceof NotFound) throw new Unauthenticated('invalid_credentials');
        throw error;
      });
      // The row exists as soon as saveUser commits, before the saga is done: while it may still be
      // compensated away (or is being), no token (issue #14). Told only to who knows the password.
      const registration = await registrations.queries.latestForSubject(
        registrations.type,
        String(id),
        user.createdAt,
      );
      if (registration !== undefined && registration.status !== 'succeeded') {
        throw new BusinessFailure('registration_incomplete');
      }
      return app.issueToken(id, user.createdAt);
    },
  );
};
