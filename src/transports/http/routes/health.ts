import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface HealthRouteOptions {
  readonly readiness: () => Promise<Readiness>;
}

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(Type.String(), Type.Boolean()),
});

export const healthRoutes: FastifyPluginAsyncTypebox<HealthRouteOptions> = async (app, { readiness }) => {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['operations'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: database reachable, migrations applied, saga recovery running',
        tags: ['operations'],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = await readiness();
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
    },
  );
};
