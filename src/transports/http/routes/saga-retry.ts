import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { BusinessFailure, NotFound } from '../../../domain/errors.js';
import { isFinalStatus, type SagaLog } from '../../../domain/saga.js';
import type { SagaCoordinator } from '../../../machines/runtime/saga-coordinator.js';
import { commonErrors, errorsOf } from '../schemas.js';

export interface SagaRetryRouteOptions {
  readonly log: SagaLog;
  readonly coordinator: SagaCoordinator;
}

/**
 * `POST /sagas/:gid/retry`: the step waiting in backoff runs now. Only the process that runs a saga can
 * wake it (its backoff timer lives in that process); any other answers 409 `saga_not_here` naming the
 * owner, so an operator behind a load balancer knows to retry or to go to that process.
 */
export const sagaRetryRoute: FastifyPluginAsyncTypebox<SagaRetryRouteOptions> = async (
  app,
  { log, coordinator },
) => {
  app.post(
    '/sagas/:gid/retry',
    {
      schema: {
        summary: 'Run the step a saga waits to retry now, e.g. after fixing an outage (admin)',
        description:
          '202 when the step was woken. 409 `saga_final` for a finished saga, `saga_not_waiting` when no ' +
          'step waits (it is calling one now), `saga_not_here` when another coordinator process runs it.',
        tags: ['sagas'],
        security: [{ admin: [] }],
        params: Type.Object({ gid: Type.String({ minLength: 1, maxLength: 128 }) }),
        response: {
          202: Type.Object({ gid: Type.String(), retried: Type.Literal(true) }),
          ...commonErrors,
          ...errorsOf('unauthenticated', 'saga_not_found', 'saga_final', 'saga_not_waiting', 'saga_not_here'),
        },
      },
    },
    async (request, reply) => {
      const { gid } = request.params;
      // A saga whose first step has not committed has no row yet: this process may still be running it.
      const record = (await log.get(gid)) ?? coordinator.runningRecord(gid);
      if (!record) throw new NotFound('saga_not_found', `no saga ${gid}`);
      if (isFinalStatus(record.status)) {
        throw new BusinessFailure('saga_final', `saga ${gid} is ${record.status}; there is nothing to retry`);
      }
      const outcome = coordinator.retryNow(gid);
      if (outcome === 'notRunning') {
        const owner = record.owner === null ? 'none yet (it is being taken over)' : record.owner;
        throw new BusinessFailure(
          'saga_not_here',
          `saga ${gid} is run by another coordinator process (owner: ${owner}); send the retry to it`,
        );
      }
      if (outcome === 'notWaiting') {
        throw new BusinessFailure(
          'saga_not_waiting',
          `no step of saga ${gid} waits for a retry; it is calling one now`,
        );
      }
      reply.code(202);
      return { gid, retried: true as const };
    },
  );
};
