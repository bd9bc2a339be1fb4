import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { toHttpError } from '../error-status.js';

/** One error envelope for every route: `{"error": {"code", "message"}}`; 5xx details go to the log only. */
const errorHandler: FastifyPluginAsync = async (app) => {
  app.setErrorHandler((error, request, reply) => {
    const { status, body, unexpected, headers } = toHttpError(error);
    if (headers) void reply.headers(headers);
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

/**
 * fastify's `frameworkErrors`: errors raised before routing (a malformed percent-encoding in the URL, a
 * path parameter over maxParamLength) skip setErrorHandler; without this they answer in fastify's own
 * shape instead of our envelope (found by the HTTP fuzz tests).
 */
export function frameworkErrorHandler(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toHttpError(error);
  request.log.debug({ code: body.error.code, message: body.error.message }, 'request refused before routing');
  void reply.status(status).send(body);
}

export default fp(errorHandler, { name: 'error-handler', fastify: '5.x' });
