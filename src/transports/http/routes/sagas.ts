import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NotFound } from '../../../domain/errors.js';
import type { SagaLog } from '../../../domain/saga.js';
import type { SagaCoordinator } from '../../../machines/runtime/saga-coordinator.js';
import type { SagaDefinition } from '../../../machines/saga-definition.js';
import { describeSaga } from '../../../machines/saga-view.js';
import { commonErrors, ErrorInfoSchema, errorsOf } from '../schemas.js';

export interface SagaRouteOptions {
  readonly log: SagaLog;
  readonly coordinator: SagaCoordinator;
}

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const SagaViewSchema = Type.Object({
  gid: Type.String(),
  type: Type.String(),
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('compensating'),
    Type.Literal('succeeded'),
    Type.Literal('aborted'),
  ]),
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

export const sagaRoutes: FastifyPluginAsyncTypebox<SagaRouteOptions> = async (app, { log, coordinator }) => {
  app.addHook('preHandler', app.requireAdmin);

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
      const definition = coordinator.machine(record.type)?.definition as
        | SagaDefinition<unknown, unknown>
        | undefined;
      return describeSaga(record, definition);
    },
  );
};
