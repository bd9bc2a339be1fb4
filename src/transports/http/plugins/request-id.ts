import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What a caller's id may look like to be kept: short, printable, nothing a log line could be forged with. */
const SANE_ID = /^[\w.:@/+=-]{1,128}$/;

/**
 * fastify's genReqId: the caller's `x-request-id` when it is sane (a proxy or the client correlating its
 * own logs), otherwise a fresh UUID. fastify puts it on every request log line as `reqId`.
 */
export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}

/** Echoes the request id in every answer, errors and 404s included, so a caller can quote it. */
const requestId: FastifyPluginCallback = (app, _options, done) => {
  app.addHook('onRequest', (request, reply, next) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    next();
  });
  done();
};

export default fp(requestId, { name: 'request-id', fastify: '5.x' });
