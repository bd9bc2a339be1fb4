import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../../domain/password.js';
import { GENDER_MAX, NAME_MAX } from '../../../domain/user.js';
import type { Registration } from '../../../machines/registration.js';
import { statusOfCode } from '../error-status.js';
import { codesText, commonErrors, ErrorEnvelope, ErrorInfoSchema, UserId, UserSchema } from '../schemas.js';

const RegisterBody = Type.Object(
  {
    id: Type.Optional({ ...UserId, description: 'Chosen by the caller; generated when absent' }),
    name: Type.String({ minLength: 1, maxLength: NAME_MAX }),
    gender: Type.String({ minLength: 1, maxLength: GENDER_MAX }),
    password: Type.Optional(
      Type.String({
        minLength: PASSWORD_MIN,
        maxLength: PASSWORD_MAX,
        description: 'Optional, as in the tutorial; a user registered without one cannot log in',
      }),
    ),
    score: Type.Optional(
      Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647, description: 'Default 0' }),
    ),
  },
  { additionalProperties: false },
);

const Aborted = Type.Object({ gid: Type.String(), status: Type.Literal('aborted'), error: ErrorInfoSchema });

export interface RegisterRouteOptions {
  readonly registration: Registration;
}

export const registerRoute: FastifyPluginAsyncTypebox<RegisterRouteOptions> = async (
  app,
  { registration },
) => {
  app.post(
    '/register',
    {
      schema: {
        summary: 'Register a user as one saga: saveUser, then saveUserScore; compensated on refusal',
        tags: ['users'],
        headers: Type.Object({
          'idempotency-key': Type.Optional(
            Type.String({
              minLength: 1,
              maxLength: 255,
              description: 'Same key and body: same saga, never twice',
            }),
          ),
        }),
        body: RegisterBody,
        response: {
          201: Type.Object({
            gid: Type.String(),
            status: Type.Literal('succeeded'),
            user: UserSchema,
            score: Type.Integer(),
          }),
          202: Type.Object(
            { gid: Type.String(), status: Type.Literal('pending') },
            { description: 'Not final within REGISTER_WAIT_MS; the saga goes on (see Location)' },
          ),
          409: Type.Union([Aborted, ErrorEnvelope], {
            description: `Aborted: ${codesText('duplicate_user', 'duplicate_score', 'branch_compensated', 'branch_refused')}`,
          }),
          422: Type.Union([Aborted, ErrorEnvelope], {
            description: `Aborted: ${codesText('score_rejected')}; or refused: ${codesText('idempotency_key_reused')}`,
          }),
          ...commonErrors,
          503: Type.Union([Aborted, ErrorEnvelope], {
            description: `Aborted after a dependency stayed down: ${codesText('saga_timeout')}; or ${codesText('unavailable')}`,
          }),
        },
      },
    },
    async (request, reply) => {
      const outcome = await registration.register(request.body, request.headers['idempotency-key']);
      switch (outcome.status) {
        case 'succeeded':
          return reply.status(201).send(outcome);
        case 'aborted':
          return reply.status(statusOfCode(outcome.error.code) as 409).send(outcome);
        case 'pending':
          return reply
            .status(202)
            .header('location', `/sagas/${encodeURIComponent(outcome.gid)}`)
            .send(outcome);
      }
    },
  );
};
