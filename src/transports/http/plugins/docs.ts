import { createRequire } from 'node:module';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';

const { version } = createRequire(import.meta.url)('../../../../package.json') as { version: string };

/**
 * OpenAPI 3.1 at /docs/json, generated from the route schemas (so it cannot drift from what the routes
 * validate), and Swagger UI at /docs, served from the package's own files: nothing is fetched from the
 * internet (no validator badge, a CSP that allows only this origin). Registered before the routes, so
 * its onRoute hook sees them all.
 */
const docs: FastifyPluginAsync = async (app) => {
  await app.register(swagger, {
    openapi: {
      // 3.1: our schemas use JSON Schema's `type: "null"` for nullable fields.
      openapi: '3.1.0',
      info: {
        title: 'saga-service',
        version,
        description:
          'Register users as sagas over two services. Every error answers `{"error": {"code", "message"}}`; ' +
          'each response lists the codes it can carry.',
      },
      tags: [
        { name: 'users', description: 'Registration, login, the logged-in user' },
        { name: 'sagas', description: 'Saga inspection (admin token)' },
        { name: 'operations', description: 'Health and metrics' },
      ],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'The token POST /login returns (HS256, claim userId)',
          },
          admin: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN: admin routes answer 404 when it is not configured',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    staticCSP: true,
    uiConfig: { validatorUrl: null, deepLinking: true },
  });
};

export default fp(docs, { name: 'docs', fastify: '5.x' });
