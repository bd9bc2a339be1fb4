import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { type SagaStatus, sagaStatuses } from '../../../domain/saga.js';
import type { SagaQueries, SagaStats } from '../../../domain/saga-queries.js';
import { commonErrors, errorsOf } from '../schemas.js';
import { Nullable, SagaStatusSchema } from './saga-schemas.js';

export interface SagaStatsRouteOptions {
  readonly queries: SagaQueries;
}

const Count = Type.Integer({ minimum: 0 });

export const SagaStatsSchema = Type.Object({
  now: Type.String({ format: 'date-time', description: 'The database clock the numbers were read at' }),
  total: Count,
  byStatus: Type.Object(
    Object.fromEntries(sagaStatuses.map((status) => [status, Count])) as Record<SagaStatus, typeof Count>,
  ),
  byType: Type.Record(Type.String(), Count),
  byStatusAndType: Type.Array(Type.Object({ status: SagaStatusSchema, type: Type.String(), count: Count })),
  oldestActive: Nullable(
    Type.Object({
      gid: Type.String(),
      type: Type.String(),
      status: SagaStatusSchema,
      state: Type.String(),
      createdAt: Type.String({ format: 'date-time' }),
      ageMs: Type.Integer({ minimum: 0 }),
    }),
  ),
  window: Type.Object({
    minutes: Type.Integer(),
    succeeded: Count,
    aborted: Count,
    abortRate: Nullable(Type.Number({ description: 'aborted / finished in the window; null if none' })),
    perMinute: Type.Array(
      Type.Object({ minute: Type.String({ format: 'date-time' }), succeeded: Count, aborted: Count }),
    ),
  }),
});

export function statsJson(stats: SagaStats, minutes: number) {
  const byStatus = Object.fromEntries(sagaStatuses.map((status) => [status, 0])) as Record<
    (typeof sagaStatuses)[number],
    number
  >;
  const byType: Record<string, number> = {};
  for (const { status, type, count } of stats.counts) {
    byStatus[status] += count;
    byType[type] = (byType[type] ?? 0) + count;
  }
  const succeeded = stats.throughput.reduce((sum, bucket) => sum + bucket.succeeded, 0);
  const aborted = stats.throughput.reduce((sum, bucket) => sum + bucket.aborted, 0);
  const oldest = stats.oldestActive;
  return {
    now: stats.now.toISOString(),
    total: stats.counts.reduce((sum, row) => sum + row.count, 0),
    byStatus,
    byType,
    byStatusAndType: stats.counts,
    oldestActive: oldest && {
      ...oldest,
      createdAt: oldest.createdAt.toISOString(),
      ageMs: Math.max(0, stats.now.getTime() - oldest.createdAt.getTime()),
    },
    window: {
      minutes,
      succeeded,
      aborted,
      abortRate: succeeded + aborted === 0 ? null : aborted / (succeeded + aborted),
      perMinute: stats.throughput.map((bucket) => ({ ...bucket, minute: bucket.minute.toISOString() })),
    },
  };
}

/** `GET /sagas/stats`: counts, the oldest saga still running, throughput and abort rate of the last minutes. */
export const sagaStatsRoute: FastifyPluginAsyncTypebox<SagaStatsRouteOptions> = async (app, { queries }) => {
  app.get(
    '/sagas/stats',
    {
      schema: {
        summary: 'Saga counts by status and type, oldest running saga, recent throughput (admin)',
        tags: ['sagas'],
        security: [{ admin: [] }],
        querystring: Type.Object(
          {
            minutes: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: 60,
                default: 15,
                description: 'Throughput window: this many one-minute buckets, the last one partial',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: SagaStatsSchema, ...commonErrors, ...errorsOf('unauthenticated') },
      },
    },
    async (request) => {
      const minutes = request.query.minutes ?? 15;
      return statsJson(await queries.stats(minutes), minutes);
    },
  );
};
