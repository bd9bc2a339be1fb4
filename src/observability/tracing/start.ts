// Loaded by main.ts only when tracing is on (config.tracing.export): this module is what brings the
// OpenTelemetry SDK into the process. It must run before fastify, @grpc/grpc-js and mysql2 are loaded,
// so main.ts imports the app after it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, DiagLogLevel, diag, isSpanContextValid, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TraceExport } from '../../config/tracing.js';
import type { SagaTracing } from '../../machines/runtime/saga-tracing.js';
import { projectRoot } from '../../project-root.js';
import { createSagaTracing } from './saga-spans.js';
import { BackgroundCallsUnsampled } from './sampler.js';

/** Routes whose requests are not traced: probes and scrapes, many a minute. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
/** gRPC methods not traced: the standard health check (probes) and server reflection. */
const UNTRACED_GRPC_METHODS = ['Check', 'Watch', 'ServerReflectionInfo'];

export interface TracingLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface Tracing {
  /** The runtime's spans for sagas and their steps. */
  readonly sagas: SagaTracing;
  /** pino's `mixin`: the active span's `trace_id` and `span_id` on every line logged inside it. */
  logFields(): object;
  /** Logs where spans go, and sends the SDK's own complaints (an endpoint that does not answer) there. */
  useLogger(logger: TracingLogger): void;
  /** Exports the spans still buffered; called once the app has closed. */
  shutdown(): Promise<void>;
}

function serviceVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/**
 * Starts the SDK: a tracer provider exporting over OTLP/HTTP in batches (OTEL_BSP_* tune them), W3C
 * trace context, and the maintained instrumentations of what we use: @fastify/otel (fastify's own) for
 * the HTTP server spans, instrumentation-grpc for gRPC clients and servers (traceparent in metadata),
 * instrumentation-mysql2 for every statement.
 */
export async function startTracing(
  settings: TraceExport,
  options: { readonly grpc: boolean },
): Promise<Tracing> {
  const { OTLPTraceExporter } =
    settings.protocol === 'http/json'
      ? await import('@opentelemetry/exporter-trace-otlp-http')
      : await import('@opentelemetry/exporter-trace-otlp-proto');
  const version = serviceVersion();
  // Our defaults first, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, which take precedence.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({
        [ATTR_SERVICE_NAME]: settings.serviceName,
        [ATTR_SERVICE_VERSION]: version,
        'host.name': hostname(),
        'process.pid': process.pid,
      }),
    )
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    sampler: new BackgroundCallsUnsampled(settings),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.url }))],
  });
  // The global provider, AsyncLocalStorage for the active span, W3C traceparent (and baggage) propagation.
  provider.register();

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new FastifyOtelInstrumentation({
        // Every fastify instance is instrumented as it is created (fastify's diagnostics channel).
        registerOnInitialization: true,
        ignorePaths: (route: { url: string }) => UNTRACED_ROUTES.has(route.url.split('?')[0] ?? ''),
        // An exception event would carry a stack and the error's message; the status says enough.
        recordExceptions: false,
        // One server span per request, the saga's parent: no span per fastify hook or for the handler.
        instrumentHooks: false,
        instrumentHandler: false,
        // Named as the HTTP conventions say: method and route (`POST /register`); the method alone when
        // no route matched, so a scan of random paths does not make a name per path.
        requestHook: (span, request) => {
          const route = request.routeOptions.url;
          span.updateName(route === undefined ? request.method : `${request.method} ${route}`);
        },
      }),
      new GrpcInstrumentation({ ignoreGrpcMethods: UNTRACED_GRPC_METHODS }),
      new MySQL2Instrumentation({
        // Statements as written, with their placeholders, never the values bound to them (password
        // hashes, the sealed hash in a saga's input): unmasked, the instrumentation pastes the values in
        // whenever it has found mysql2's format function.
        maskStatement: true,
        maskStatementHook: (statement: string) => statement,
      }),
    ],
  });
  // The instrumentations patch CommonJS packages as require() loads them (require-in-the-middle), but
  // Node loads a CommonJS package that an ES module imports without calling require(). Loaded here
  // through require() first, @grpc/grpc-js is patched in the module cache, where the service's imports
  // then find it (without this, no gRPC span at all). mysql2 needs no help: the class it patches is
  // required inside the package. (The alternative, import-in-the-middle's loader hook, would run a
  // loader thread for the life of the process.)
  if (options.grpc) createRequire(import.meta.url)('@grpc/grpc-js');

  const tracer = trace.getTracer('saga-service', version);
  return {
    sagas: createSagaTracing(tracer),
    logFields() {
      const active = trace.getSpanContext(context.active());
      // A new object each time: pino merges the line's own fields into it.
      return active && isSpanContextValid(active) ? { trace_id: active.traceId, span_id: active.spanId } : {};
    },
    useLogger(logger) {
      const endpoint = new URL(settings.url);
      endpoint.username = '';
      endpoint.password = '';
      logger.info(
        { endpoint: endpoint.toString(), protocol: settings.protocol, serviceName: settings.serviceName },
        `tracing on: spans go to ${endpoint} (${settings.protocol}) as ${settings.serviceName}`,
      );
      // An Error among the arguments is shown as `err`. Logged outside any span: an export that fails
      // runs in the context of whichever span ended first in its batch, which it is not about.
      const fields = (args: unknown[]) => {
        const err = args.find((arg) => arg instanceof Error);
        return err ? { err } : args.length > 0 ? { details: args } : {};
      };
      diag.setLogger(
        {
          error: (message, ...args) => context.with(ROOT_CONTEXT, () => logger.error(fields(args), message)),
          warn: (message, ...args) => context.with(ROOT_CONTEXT, () => logger.warn(fields(args), message)),
          info: () => {},
          debug: () => {},
          verbose: () => {},
        },
        DiagLogLevel.WARN,
      );
    },
    shutdown: () => provider.shutdown(),
  };
}
