// Starts the service and stops it gracefully. Everything else is built in app.ts.
import { parseArgs } from 'node:util';
import { planOf } from './app/plan.js';
import type { App } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';

try {
  process.loadEnvFile();
} catch {
  // no .env file: the environment is all there is
}

// `--role user` (repeatable) is the command-line spelling of ROLES; `--inspect` of INSPECT=1.
const { values: args } = parseArgs({
  options: { role: { type: 'string', multiple: true }, inspect: { type: 'boolean' } },
  strict: false,
});
const roles = args.role;
if (Array.isArray(roles) && roles.length > 0) process.env.ROLES = roles.join(',');
if (args.inspect === true) process.env.INSPECT = '1';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

// Tracing starts before the app is imported, so its instrumentations see fastify, gRPC and mysql2 load.
// Off (no OTLP endpoint), neither the OpenTelemetry SDK nor any instrumentation is loaded.
const tracing = config.tracing.export
  ? await (await import('./observability/tracing/start.js')).startTracing(config.tracing.export, {
      grpc: planOf(config).usesGrpc,
    })
  : undefined;

const logger = createLogger({
  level: config.log.level,
  env: config.env,
  ...(tracing ? { mixin: tracing.logFields } : {}),
});
for (const warning of config.warnings) logger.warn(warning);
tracing?.useLogger(logger.child({ component: 'tracing' }));

let app: App;
try {
  const { buildApp } = await import('./app.js');
  app = await buildApp(config, logger, tracing ? { sagaTracing: tracing.sagas } : {});
  if (app.http) {
    const address = await app.http.listen({ host: config.http.host, port: app.httpPort ?? config.http.port });
    const what = config.roles.has('api') ? 'saga service' : 'health and metrics';
    logger.info({ address, roles: [...config.roles] }, `${what} listening on ${address}`);
  } else {
    logger.info({ roles: [...config.roles] }, 'saga service started');
  }
} catch (error) {
  logger.fatal({ err: error }, `could not start: ${error instanceof Error ? error.message : String(error)}`);
  logger.flush();
  process.exit(1);
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: no new requests; running steps may finish');
  const force = setTimeout(() => {
    logger.error('graceful stop took too long; exiting');
    process.exit(1);
  }, config.api.shutdownGraceMs + 15_000);
  force.unref();
  try {
    await app.close();
    // The spans of the last sagas (bounded: an endpoint that does not answer must not hold the stop).
    await Promise.race([
      tracing?.shutdown(),
      new Promise((resolve) => setTimeout(resolve, 5_000).unref()),
    ]).catch((error: unknown) => logger.warn({ err: error }, 'could not export the last spans'));
    logger.info('stopped');
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'error while stopping');
    process.exit(1);
  }
}

process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
