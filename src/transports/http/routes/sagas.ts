import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NotFound } from '../../../domain/errors.js';
import { isFinalStatus, type SagaLog, sagaStatuses } from '../../../domain/saga.js';
import type { SagaQueries } from '../../../domain/saga-queries.js';
import type { SagaCoordinator } from '../../../machines/runtime/saga-coordinator.js';
import { createCursorCodec } from '../saga-cursor.js';
import { describeSaga, SagaViewSchema } from '../saga-view.js';
import { commonErrors, errorsOf } from '../schemas.js';
import { sagaListRoute } from './saga-list.js';
import { sagaRetryRoute } from './saga-retry.js';
import { SagaStatusSchema } from './saga-schemas.js';
import { sagaStatsRoute } from './saga-stats.js';

export interface SagaRouteOptions {
  readonly log: SagaLog;
  readonly queries: SagaQueries;
  readonly coordinator: SagaCoordinator;
  /** Signs listing cursors (the admin token: the same in every process). */
  readonly cursorSecret: string;
  /** TRACE_URL_TEMPLATE: a saga's trace in a trace UI. */
  readonly traceUrlTemplate?: string | undefined;
}

/** The admin API over sagas; every route below asks for the admin token. */
export const sagaRoutes: FastifyPluginAsyncTypebox<SagaRouteOptions> = async (
  app,
  { log, queries, coordinator, cursorSecret, traceUrlTemplate },
) => {
  app.addHook('preHandler', app.requireAdmin);
  await app.register(sagaListRoute, { queries, cursors: createCursorCodec(cursorSecret) });
  await app.register(sagaStatsRoute, { queries });
  await app.register(sagaRetryRoute, { log, coordinator });

  app.get(
    '/sagas/statuses',
    {
      schema: {
        summary: 'The saga statuses, in the order a saga goes through them, and which are final (admin)',
        tags: ['sagas'],
        security: [{ admin: [] }],
        response: {
          200: Type.Object({
            statuses: Type.Array(Type.Object({ name: SagaStatusSchema, final: Type.Boolean() })),
          }),
          ...commonErrors,
          ...errorsOf('unauthenticated'),
        },
      },
    },
    async () => ({ statuses: sagaStatuses.map((name) => ({ name, final: isFinalStatus(name) })) }),
  );

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
      // A saga whose first step has not committed has no row yet: this process may still be running it.
      const record = (await log.get(request.params.gid)) ?? coordinator.runningRecord(request.params.gid);
      if (!record) throw new NotFound('saga_not_found', `no saga ${request.params.gid}`);
      return describeSaga(record, coordinator.sagaType(record.type), traceUrlTemplate);
    },
  );
};
