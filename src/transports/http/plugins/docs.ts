import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { projectRoot } from '../../../project-root.js';

const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as {
  version: string;
};

const DOCS_PREFIX = '/docs';
const INDEX_ALIAS = `${DOCS_PREFIX}/static/index.html`;

/**
 * @fastify/swagger-ui (6.1.3) answers its index alias with a redirect built by rewriting `request.url`
 * with a pattern anchored at the end: with a query string (`?x`) or a percent-encoded path
 * (`index%2Ehtml`) nothing is rewritten and the page redirects to itself forever (found by the admin
 * HTTP fuzz test). We answer the alias ourselves, keeping the query.
 */
async function redirectIndexAlias(request: FastifyRequest, reply: FastifyReply) {
  if (request.routeOptions.url !== INDEX_ALIAS) return;
  const query = request.url.indexOf('?');
  return reply.redirect(`${DOCS_PREFIX}/${query === -1 ? '' : request.url.slice(query)}`);
}

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
    routePrefix: DOCS_PREFIX,
    staticCSP: true,
    uiHooks: { onRequest: redirectIndexAlias },
    uiConfig: { validatorUrl: null, deepLinking: true },
  });
};

export default fp(docs, { name: 'docs', fastify: '5.x' });
