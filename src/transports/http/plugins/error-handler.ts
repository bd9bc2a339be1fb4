import type { FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import { toHttpError } from '../error-status.js';

/** One error envelope for every route: `{"error": {"code", "message"}}`; 5xx details go to the log only. */
const errorHandler: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((error, request, reply) => {
    const { status, body, unexpected } = toHttpError(error);
    if (unexpected) request.log.error({ err: error }, 'request failed unexpectedly');
    else if (status >= 500) request.log.warn({ err: error, code: body.error.code }, 'request failed');
    else request.log.debug({ code: body.error.code, message: body.error.message }, 'request refused');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      error: { code: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` },
    }),
  );
};

export default fp(errorHandler, { name: 'error-handler', fastify: '5.x' });
