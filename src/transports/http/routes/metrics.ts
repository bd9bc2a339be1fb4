import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { errorsOf } from '../schemas.js';

export interface MetricsRouteOptions {
  readonly registry: Registry;
}

/** Prometheus exposition, behind the admin token (Prometheus sends it with `authorization.credentials`). */
export const metricsRoute: FastifyPluginAsyncTypebox<MetricsRouteOptions> = async (app, { registry }) => {
  app.get(
    '/metrics',
    {
      preHandler: app.requireAdmin,
      schema: {
        summary: 'Prometheus metrics: sagas, steps, cache, HTTP, gRPC, database pools (admin)',
        tags: ['operations'],
        security: [{ admin: [] }],
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: Type.String() } },
          },
          ...errorsOf('unauthenticated', 'internal'),
        },
      },
    },
    async (_request, reply) => {
      const body = await registry.metrics();
      return reply.type(registry.contentType).send(body);
    },
  );
};
