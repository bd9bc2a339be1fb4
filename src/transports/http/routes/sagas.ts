import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NotFound } from '../../../domain/errors.js';
import type { SagaLog } from '../../../domain/saga.js';
import type { SagaQueries } from '../../../domain/saga-queries.js';
import type { SagaCoordinator } from '../../../machines/runtime/saga-coordinator.js';
import { describeSaga } from '../../../machines/saga-view.js';
import { createCursorCodec } from '../saga-cursor.js';
import { commonErrors, ErrorInfoSchema, errorsOf } from '../schemas.js';
import { sagaListRoute } from './saga-list.js';
import { sagaRetryRoute } from './saga-retry.js';
import { Nullable, SagaStatusSchema } from './saga-schemas.js';
import { sagaStatsRoute } from './saga-stats.js';

export interface SagaRouteOptions {
  readonly log: SagaLog;
  readonly queries: SagaQueries;
  readonly coordinator: SagaCoordinator;
  /** Signs listing cursors (the admin token: the same in every process). */
  readonly cursorSecret: string;
}

export const SagaViewSchema = Type.Object({
  gid: Type.String(),
  type: Type.String(),
  status: SagaStatusSchema,
  subject: Nullable(Type.String({ description: "The saga's business key (register: the user id)" })),
  state: Type.String({ description: 'The machine state, e.g. userSaved.waiting' }),
  steps: Type.Array(
    Type.Object({
      name: Type.String(),
      op: Type.String(),
      status: Type.String(),
      attempts: Type.Integer(),
      lastError: Nullable(ErrorInfoSchema),
    }),
  ),
  error: Nullable(ErrorInfoSchema),
  lastError: Nullable(ErrorInfoSchema),
  nextAttemptAt: Nullable(Type.String({ format: 'date-time' })),
  input: Type.Unknown({ description: 'The saga input with secrets removed' }),
  timeline: Type.Array(
    Type.Object({
      step: Type.String(),
      op: Type.String(),
      attempt: Type.Integer(),
      startedAt: Type.Number({ description: 'epoch ms' }),
      finishedAt: Type.Number({ description: 'epoch ms' }),
      outcome: Type.String(),
      barrier: Nullable(Type.String()),
      error: Nullable(ErrorInfoSchema),
    }),
  ),
  owner: Nullable(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

/** The admin API over sagas; every route below asks for the admin token. */
export const sagaRoutes: FastifyPluginAsyncTypebox<SagaRouteOptions> = async (
  app,
  { log, queries, coordinator, cursorSecret },
) => {
  app.addHook('preHandler', app.requireAdmin);
  await app.register(sagaListRoute, { queries, cursors: createCursorCodec(cursorSecret) });
  await app.register(sagaStatsRoute, { queries });
  await app.register(sagaRetryRoute, { log, coordinator });

  app.get(
    '/sagas/:gid',
    {
      schema: {
        summary: 'One saga: status, machine state, steps with attempts and errors, timeline (admin)',
        tags: ['sagas'],
        security: [{ admin: [] }],
        params: Type.Object({ gid: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: { 200: SagaViewSchema, ...commonErrors, ...errorsOf('unauthenticated', 'saga_not_found') },
      },
    },
    async (request) => {
      const record = await log.get(request.params.gid);
      if (!record) throw new NotFound('saga_not_found', `no saga ${request.params.gid}`);
      return describeSaga(record, coordinator.sagaType(record.type));
    },
  );
};
