import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { InvalidArgument } from '../../../domain/errors.js';
import type { SagaQueries, SagaSummary } from '../../../domain/saga-queries.js';
import type { CursorCodec } from '../saga-cursor.js';
import { commonErrors, ErrorInfoSchema, errorsOf } from '../schemas.js';
import { Nullable, SagaStatusSchema } from './saga-schemas.js';

export interface SagaListRouteOptions {
  readonly queries: SagaQueries;
  readonly cursors: CursorCodec;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

export const SagaSummarySchema = Type.Object({
  gid: Type.String(),
  type: Type.String(),
  status: SagaStatusSchema,
  state: Type.String({ description: 'The machine state, e.g. userSaved.waiting' }),
  subject: Nullable(Type.String({ description: "The saga's business key (register: the user id)" })),
  attempts: Type.Integer({ description: 'Attempts of the step under way' }),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  error: Nullable(ErrorInfoSchema),
  lastError: Nullable(ErrorInfoSchema),
  owner: Nullable(Type.String({ description: 'The coordinator process working the saga' })),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  finishedAt: Nullable(Type.String({ format: 'date-time' })),
});

export function summaryJson(saga: SagaSummary) {
  return {
    ...saga,
    nextAttemptAt: saga.nextAttemptAt?.toISOString() ?? null,
    createdAt: saga.createdAt.toISOString(),
    updatedAt: saga.updatedAt.toISOString(),
    finishedAt: saga.finishedAt?.toISOString() ?? null,
  };
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function parseSince(text: string): Date {
  const at = ISO_INSTANT.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) {
    throw new InvalidArgument('since must be an ISO 8601 date or instant, e.g. 2026-11-25T10:00:00Z');
  }
  return at;
}

/** `GET /sagas`: a page of sagas, newest first, with a keyset cursor for the next one. */
export const sagaListRoute: FastifyPluginAsyncTypebox<SagaListRouteOptions> = async (
  app,
  { queries, cursors },
) => {
  app.get(
    '/sagas',
    {
      schema: {
        summary: 'List sagas, newest first, filtered and cursor-paginated (admin)',
        description:
          'Every filter is served by an index. `q` is a gid (exact) or a subject (exact; for register, the ' +
          'user id). Pass `next` back as `cursor` for the following page; pages stay consistent while ' +
          'new sagas are created.',
        tags: ['sagas'],
        security: [{ admin: [] }],
        querystring: Type.Object(
          {
            status: Type.Optional(SagaStatusSchema),
            type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            since: Type.Optional(
              Type.String({ maxLength: 40, description: 'ISO 8601 date or instant: created at or after' }),
            ),
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: MAX_PAGE,
                default: DEFAULT_PAGE,
                description: 'Page size',
              }),
            ),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'From `next`' })),
            q: Type.Optional(
              Type.String({ minLength: 1, maxLength: 128, description: 'A gid or a subject (user id)' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            sagas: Type.Array(SagaSummarySchema),
            next: Nullable(Type.String({ description: 'Cursor of the next page; null on the last page' })),
          }),
          ...commonErrors,
          ...errorsOf('unauthenticated'),
        },
      },
    },
    async (request) => {
      const { status, type, since, limit, cursor, q } = request.query;
      const page = await queries.list({
        status,
        type,
        since: since === undefined ? undefined : parseSince(since),
        q,
        after: cursor === undefined ? undefined : cursors.decode(cursor),
        limit: limit ?? DEFAULT_PAGE,
      });
      return {
        sagas: page.sagas.map(summaryJson),
        next: page.next === null ? null : cursors.encode(page.next),
      };
    },
  );
};
