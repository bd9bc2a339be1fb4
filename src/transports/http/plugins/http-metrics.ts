import type { FastifyPluginCallback } from 'fastify';
import fp from 'fastify-plugin';

export interface HttpMetricsOptions {
  /** The route pattern (`/sagas/:gid`, never the raw URL), method, status code, seconds. */
  readonly record: (route: string, method: string, statusCode: number, seconds: number) => void;
}

/** Requests no route matched share one label, so scanners cannot grow the series without end. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Times every request by route pattern, method and status code. */
const httpMetrics: FastifyPluginCallback<HttpMetricsOptions> = (app, { record }, done) => {
  app.addHook('onResponse', (request, reply, next) => {
    const route = request.is404 ? UNMATCHED_ROUTE : (request.routeOptions.url ?? UNMATCHED_ROUTE);
    record(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    next();
  });
  done();
};

export default fp(httpMetrics, { name: 'http-metrics', fastify: '5.x' });
