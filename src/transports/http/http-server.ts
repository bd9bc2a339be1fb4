import rateLimit from '@fastify/rate-limit';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { SagaLog } from '../../domain/saga.js';
import type { SagaQueries } from '../../domain/saga-queries.js';
import type { ScoreService } from '../../domain/score-service.js';
import type { UserService } from '../../domain/user-service.js';
import type { Registration } from '../../machines/registration.js';
import type { SagaCoordinator } from '../../machines/runtime/saga-coordinator.js';
import auth from './plugins/auth.js';
import docs from './plugins/docs.js';
import errorHandler, { frameworkErrorHandler } from './plugins/error-handler.js';
import httpMetrics, { type HttpMetricsOptions } from './plugins/http-metrics.js';
import requestId, { requestIdOf } from './plugins/request-id.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { loginRoute } from './routes/login.js';
import { metricsRoute } from './routes/metrics.js';
import { registerRoute } from './routes/register.js';
import { sagaRoutes } from './routes/sagas.js';
import { userRoute } from './routes/user.js';

export const BODY_LIMIT = 16 * 1024;

/**
 * fastify logs every request twice at info; under load that dominates the log. Requests go to debug;
 * failures are logged by the error handler at the level they deserve.
 */
class RequestLogAtDebug extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(
    _error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    request.log.debug(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
  }
}

export interface HttpDeps extends BaseHttpDeps {
  readonly login: { readonly maxPerId: number; readonly maxPerClient: number; readonly windowMs: number };
  readonly registration: Registration;
  readonly users: UserService;
  readonly scores: ScoreService;
  readonly sagaLog: SagaLog;
  readonly sagaQueries: SagaQueries;
  readonly coordinator: SagaCoordinator;
  readonly readiness: () => Promise<Readiness>;
}

/** What every HTTP server of ours has: request ids, timings, the error envelope, the tokens. */
export interface BaseHttpDeps {
  readonly logger: FastifyBaseLogger;
  readonly jwt: { readonly secret: string; readonly expiresInSeconds: number };
  readonly adminToken: string | undefined;
  readonly trustProxy: boolean;
  /** Request timings go to `record`; GET /metrics (admin) exposes `registry`. */
  readonly metrics: { readonly registry: Registry; readonly record: HttpMetricsOptions['record'] };
}

async function baseHttpServer(deps: BaseHttpDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT,
    trustProxy: deps.trustProxy,
    // genReqId reads x-request-id itself, keeping it only when it is sane.
    requestIdHeader: false,
    genReqId: requestIdOf,
    logController: new RequestLogAtDebug(),
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();
  // TypeBox's compiler: bodies are checked as sent (no coercion, no silently dropped fields).
  app.setValidatorCompiler(TypeBoxValidatorCompiler);

  await app.register(requestId);
  await app.register(httpMetrics, { record: deps.metrics.record });
  await app.register(errorHandler);
  return app;
}

async function registerAuth(app: Awaited<ReturnType<typeof baseHttpServer>>, deps: BaseHttpDeps) {
  await app.register(auth, {
    jwtSecret: deps.jwt.secret,
    jwtExpiresInSeconds: deps.jwt.expiresInSeconds,
    adminToken: deps.adminToken,
  });
}

/**
 * For a process without the api role (a `user` or `score` service of the split deployment): health,
 * readiness and its own metrics (gRPC server timings, cache, pools), so every process can be scraped.
 */
export async function buildOpsServer(deps: BaseHttpDeps & { readonly readiness: () => Promise<Readiness> }) {
  const app = await baseHttpServer(deps);
  await registerAuth(app, deps);
  await app.register(healthRoutes, { readiness: deps.readiness });
  if (app.adminEnabled) await app.register(metricsRoute, { registry: deps.metrics.registry });
  return app;
}

/**
 * The HTTP API: register, login, user, sagas (admin), health, metrics (admin), docs. Routes adapt the
 * domain; they hold no logic.
 */
export async function buildHttpServer(deps: HttpDeps) {
  const app = await baseHttpServer(deps);
  await app.register(docs);
  await app.register(rateLimit, { global: false });
  await registerAuth(app, deps);

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(registerRoute, { registration: deps.registration });
  await app.register(loginRoute, { users: deps.users, limits: deps.login });
  await app.register(userRoute, { users: deps.users, scores: deps.scores });
  if (app.adminEnabled && deps.adminToken !== undefined) {
    await app.register(sagaRoutes, {
      log: deps.sagaLog,
      queries: deps.sagaQueries,
      coordinator: deps.coordinator,
      cursorSecret: deps.adminToken,
    });
    await app.register(metricsRoute, { registry: deps.metrics.registry });
    await app.register(dashboardRoutes, { coordinator: deps.coordinator });
  }
  return app;
}
