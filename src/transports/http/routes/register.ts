import type {} from '@fastify/rate-limit'; // types: the route's rateLimit config
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { TransientFailure } from '../../../domain/errors.js';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../../domain/password.js';
import { GENDER_MAX, NAME_MAX } from '../../../domain/user.js';
import type { Registration } from '../../../machines/registration.js';
import { statusOfCode } from '../error-status.js';
import {
  codesText,
  commonErrors,
  ErrorEnvelope,
  ErrorInfoSchema,
  errorsOf,
  RetryAfter,
  UserId,
  UserSchema,
} from '../schemas.js';

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

/** With tracing on (OTEL_EXPORTER_OTLP_ENDPOINT), the trace the saga was begun in. */
const traceId = Type.Optional(
  Type.String({ description: "The saga's trace id, when tracing is on (see GET /sagas/{gid})" }),
);

const Aborted = Type.Object({
  gid: Type.String(),
  status: Type.Literal('aborted'),
  error: ErrorInfoSchema,
  traceId,
});

export interface RegisterRouteOptions {
  readonly registration: Registration;
  /** REGISTER_RATE_MAX per REGISTER_RATE_WINDOW per client; MAX_SAGAS_IN_FLIGHT in this process. */
  readonly limits: { readonly maxPerClient: number; readonly windowMs: number; readonly maxInFlight: number };
  /** Sagas this process runs now (the coordinator's count). */
  readonly sagasInFlight: () => number;
}

/** What a refused registration is told: come back once some of the work under way has finished. */
const OVERLOAD_RETRY_AFTER_S = 1;

export const registerRoute: FastifyPluginAsyncTypebox<RegisterRouteOptions> = async (
  app,
  { registration, limits, sagasInFlight },
) => {
  // Each registration costs a 16 MiB scrypt hash on the thread pool /login needs and five rows: a
  // client gets a few per window, and the process takes on only so many at once (issue #14). Requests
  // still being answered count with the running sagas, since their saga may not have begun yet (its
  // password is being hashed): the cap can be met early, never late.
  let answering = 0;

  app.post(
    '/register',
    {
      config: { rateLimit: { max: limits.maxPerClient, timeWindow: limits.windowMs } },
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
            traceId,
          }),
          202: Type.Object(
            { gid: Type.String(), status: Type.Literal('pending'), traceId },
            { description: 'Not final within REGISTER_WAIT_MS; the saga goes on (see Location)' },
          ),
          409: Type.Union([Aborted, ErrorEnvelope], {
            description: `Aborted: ${codesText('duplicate_user', 'duplicate_score', 'branch_compensated', 'branch_refused')}`,
          }),
          422: Type.Union([Aborted, ErrorEnvelope], {
            description: `Aborted: ${codesText('score_rejected')}; or refused: ${codesText('idempotency_key_reused')}`,
          }),
          ...commonErrors,
          ...errorsOf('rate_limited'),
          503: Type.Union([Aborted, ErrorEnvelope], {
            description:
              `Aborted after a dependency stayed down: ${codesText('saga_timeout')}; or ${codesText('unavailable')};` +
              ` or, with Retry-After, ${codesText('overloaded')}`,
            headers: RetryAfter,
          }),
        },
      },
    },
    async (request, reply) => {
      if (sagasInFlight() + answering >= limits.maxInFlight) {
        throw new TransientFailure('overloaded', undefined, { retryAfterSeconds: OVERLOAD_RETRY_AFTER_S });
      }
      answering++;
      let outcome: Awaited<ReturnType<Registration['register']>>;
      try {
        outcome = await registration.register(request.body, request.headers['idempotency-key']);
      } finally {
        answering--;
      }
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
