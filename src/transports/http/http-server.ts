import rateLimit from '@fastify/rate-limit';
import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Registry } from 'prom-client';
import type { TrustProxy } from '../../config/trust-proxy.js';
import type { SagaLog } from '../../domain/saga.js';
import type { SagaQueries } from '../../domain/saga-queries.js';
import type { ScoreService } from '../../domain/score-service.js';
import type { UserService } from '../../domain/user-service.js';
import { registerSaga } from '../../machines/register-saga.js';
import type { Registration } from '../../machines/registration.js';
import type { SagaCoordinator } from '../../machines/runtime/saga-coordinator.js';
import { clientKey } from './client-key.js';
import auth from './plugins/auth.js';
import docs from './plugins/docs.js';
import errorHandler, { frameworkErrorHandler } from './plugins/error-handler.js';
import httpMetrics, { type HttpMetricsOptions } from './plugins/http-metrics.js';
import requestId, { requestIdOf } from './plugins/request-id.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { type LoginRouteOptions, loginRoute } from './routes/login.js';
import { metricsRoute } from './routes/metrics.js';
import { type RegisterRouteOptions, registerRoute } from './routes/register.js';
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
  readonly login: LoginRouteOptions['limits'];
  readonly register: RegisterRouteOptions['limits'];
  readonly registration: Registration;
  readonly users: UserService;
  readonly scores: ScoreService;
  readonly sagaLog: SagaLog;
  readonly sagaQueries: SagaQueries;
  readonly coordinator: SagaCoordinator;
  readonly readiness: () => Promise<Readiness>;
  /** TRACE_URL_TEMPLATE: the saga view links each saga's trace. */
  readonly traceUrlTemplate?: string | undefined;
}

/** What every HTTP server of ours has: request ids, timings, the error envelope, the tokens. */
export interface BaseHttpDeps {
  readonly logger: FastifyBaseLogger;
  readonly jwt: { readonly secret: string; readonly expiresInSeconds: number };
  readonly adminToken: string | undefined;
  readonly trustProxy: TrustProxy;
  /** HTTP_REQUEST_TIMEOUT and HTTP_CONNECTION_TIMEOUT. */
  readonly timeouts: { readonly requestMs: number; readonly connectionMs: number };
  /** Request timings go to `record`; GET /metrics (admin) exposes `registry`. */
  readonly metrics: { readonly registry: Registry; readonly record: HttpMetricsOptions['record'] };
}

/**
 * TRUST_PROXY as fastify takes it. fastify 5.12 treats a bare hop count as "trust nothing" (a client
 * that reaches the service directly could send enough X-Forwarded-For entries to pick its address),
 * so a count is spelled out as a function: the `n` hops nearest to us are trusted, whatever their
 * address. README says when that is safe; a list of proxy addresses always is.
 */
function trustProxyOption(
  trust: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return typeof trust === 'boolean' ? trust : [...trust];
}

async function baseHttpServer(deps: BaseHttpDeps) {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxyOption(deps.trustProxy),
    // Without these a client that sends its body a byte at a time, or stops reading, holds a connection
    // (and its buffers) for ever: fastify turns both off by default.
    requestTimeout: deps.timeouts.requestMs,
    connectionTimeout: deps.timeouts.connectionMs,
    // Also given to http.createServer: Node 20 ignores a requestTimeout set on the server after it is
    // created (fastify does that), and checks every 30 s by default, so 10 s would hold for up to 40 s.
    http: {
      requestTimeout: deps.timeouts.requestMs,
      connectionsCheckingInterval: Math.min(1_000, deps.timeouts.requestMs),
    },
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
  // Counted per client: IPv4 address or IPv6 /64 (client-key.ts), after TRUST_PROXY has picked the address.
  await app.register(rateLimit, { global: false, keyGenerator: (request) => clientKey(request.ip) });
  await registerAuth(app, deps);

  await app.register(healthRoutes, { readiness: deps.readiness });
  await app.register(registerRoute, {
    registration: deps.registration,
    limits: deps.register,
    sagasInFlight: () => deps.coordinator.runningCount,
  });
  await app.register(loginRoute, {
    users: deps.users,
    limits: deps.login,
    registrations: { queries: deps.sagaQueries, type: registerSaga.type },
  });
  await app.register(userRoute, { users: deps.users, scores: deps.scores });
  if (app.adminEnabled && deps.adminToken !== undefined) {
    await app.register(sagaRoutes, {
      log: deps.sagaLog,
      queries: deps.sagaQueries,
      coordinator: deps.coordinator,
      cursorSecret: deps.adminToken,
      traceUrlTemplate: deps.traceUrlTemplate,
    });
    await app.register(metricsRoute, { registry: deps.metrics.registry });
    await app.register(dashboardRoutes, { coordinator: deps.coordinator });
  }
  return app;
}
