import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { developmentSecret } from './config/dev-secret.js';
import {
  duration,
  flag,
  integer,
  integerList,
  oneOf,
  optionalFlag,
  optionalInteger,
  optionalText,
  text,
} from './config/env-fields.js';
import { type FaultPlan, parseFaultSpec } from './config/fault-plan.js';
import { weakSecretReason } from './config/secret-strength.js';
import { parseTraceExport, parseTraceUrlTemplate, type TraceExport } from './config/tracing.js';
import { parseTrustProxy, type TrustProxy } from './config/trust-proxy.js';
import {
  isLoopbackHost,
  type ListenAddress,
  parseListenAddress,
  parseServiceTarget,
  type ServiceTarget,
} from './transports/grpc/grpc-address.js';

export const roleNames = ['api', 'user', 'score'] as const;
export type Role = (typeof roleNames)[number];

/** Where the coordinator and the API find a domain service: in this process, or behind gRPC. */
export type ServiceLocation = { readonly kind: 'local' } | ({ readonly kind: 'grpc' } & ServiceTarget);

const MIN_PRODUCTION_SECRET_LENGTH = 32;

const databaseUrl = () =>
  optionalText().superRefine((value, ctx) => {
    if (value === undefined) return;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'expects a URL such as mysql://user:password@host:3306/database',
      });
      return;
    }
    if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
      ctx.addIssue({
        code: 'custom',
        message: `expects a mysql:// or mariadb:// URL, got "${url.protocol}//"`,
      });
    }
  });

/** The environment variables we read; README.md (Configuration) documents each one. */
const environment = z.object({
  NODE_ENV: oneOf(['development', 'production', 'test'], 'development'),
  HOST: text('127.0.0.1'),
  PORT: integer({ min: 0, max: 65_535, default: 8888 }),
  HTTP_REQUEST_TIMEOUT: duration({ default: '10s', min: 100 }),
  HTTP_CONNECTION_TIMEOUT: duration({ default: '2m', min: 100 }),
  METRICS_PORT: optionalInteger({ min: 0, max: 65_535 }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  DATABASE_URL: databaseUrl(),
  USER_DATABASE_URL: databaseUrl(),
  SCORE_DATABASE_URL: databaseUrl(),
  SAGA_DATABASE_URL: databaseUrl(),
  ROLES: text('api,user,score'),
  USER_SERVICE: text('local'),
  SCORE_SERVICE: text('local'),
  USER_GRPC_ADDR: text('127.0.0.1:50051'),
  SCORE_GRPC_ADDR: text('127.0.0.1:50052'),
  SERVICE_TOKEN: optionalText(),
  GRPC_DEADLINE_MS: integer({ min: 10, max: 600_000, default: 3_000 }),
  GRPC_TLS_CERT: optionalText(),
  GRPC_TLS_KEY: optionalText(),
  GRPC_TLS_CA: optionalText(),
  GRPC_PLAINTEXT: flag(false),
  GRPC_REFLECTION: optionalFlag(),
  DB_POOL_SIZE: integer({ min: 1, max: 1000, default: 16 }),
  DATA_DIR: text('.data'),
  JWT_SECRET: optionalText(),
  JWT_EXPIRES_IN: integer({ min: 1, max: 31_536_000, default: 86_400 }),
  CACHE_MAX: integer({ min: 1, default: 10_000 }),
  CACHE_TTL_MS: integer({ min: 1, default: 60_000 }),
  REDIS_URL: optionalText().superRefine((value, ctx) => {
    if (value === undefined) return;
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      ctx.addIssue({ code: 'custom', message: `expects a redis:// or rediss:// URL, got "${value}"` });
    }
  }),
  SCORE_REJECTED_VALUES: integerList({ default: [10] }),
  BARRIER_RETENTION: duration({ default: '7d', min: 60_000 }),
  BARRIER_PRUNE_INTERVAL: duration({ default: '1h' }),
  SAGA_RETENTION: duration({ default: '30d', min: 3_600_000 }),
  SAGA_PRUNE_INTERVAL: duration({ default: '1h' }),
  SAGA_TIMEOUT_MS: integer({ min: 100, default: 30_000 }),
  RETRY_BASE_MS: integer({ min: 1, default: 100 }),
  RETRY_FACTOR: integer({ min: 1, max: 10, default: 2 }),
  RETRY_MAX_MS: integer({ min: 1, default: 10_000 }),
  ALERT_RETRY_LIMIT: integer({ min: 1, default: 10 }),
  SAGA_LEASE_MS: integer({ min: 1_000, default: 5_000 }),
  RECOVERY_INTERVAL_MS: integer({ min: 50, default: 1_000 }),
  SAGA_SECRET_KEY: optionalText(),
  COORDINATOR_ID: optionalText(),
  REGISTER_WAIT_MS: integer({ min: 0, max: 60_000, default: 5_000 }),
  SHUTDOWN_GRACE_MS: integer({ min: 0, default: 10_000 }),
  ADMIN_TOKEN: optionalText(),
  LOGIN_RATE_MAX: integer({ min: 1, default: 10 }),
  LOGIN_ID_RATE_MAX: integer({ min: 1, default: 100 }),
  LOGIN_IP_RATE_MAX: integer({ min: 1, default: 100 }),
  LOGIN_RATE_WINDOW: duration({ default: '1m', min: 1_000 }),
  REGISTER_RATE_MAX: integer({ min: 1, default: 20 }),
  REGISTER_RATE_WINDOW: duration({ default: '1m', min: 1_000 }),
  MAX_SAGAS_IN_FLIGHT: integer({ min: 1, default: 1_000 }),
  TRUST_PROXY: optionalText(),
  INSPECT: flag(false),
  INSPECT_PORT: integer({ min: 0, max: 65_535, default: 8099 }),
  FAULTS: optionalText(),
  FAULTS_SEED: optionalText(),
  // OpenTelemetry's own variables (config/tracing.ts checks them); the exporter also reads the other
  // OTEL_EXPORTER_OTLP_* ones (headers, timeout, compression) itself.
  OTEL_SDK_DISABLED: optionalText(),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalText(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalText(),
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalText(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optionalText(),
  OTEL_SERVICE_NAME: optionalText(),
  OTEL_TRACES_SAMPLER: optionalText(),
  OTEL_TRACES_SAMPLER_ARG: optionalText(),
  TRACE_URL_TEMPLATE: optionalText(),
});

export type Environment = z.input<typeof environment>;

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  /**
   * `metricsPort`: where a process without the api role serves /healthz, /readyz and /metrics.
   * `requestTimeoutMs`: a request must have arrived whole within it; `connectionTimeoutMs`: a connection
   * silent (nothing read or written) this long is closed.
   */
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly metricsPort: number | undefined;
    readonly requestTimeoutMs: number;
    readonly connectionTimeoutMs: number;
  };
  readonly log: { readonly level: string };
  /** What this process serves: the HTTP API and coordinator, and/or the user and score services over gRPC. */
  readonly roles: ReadonlySet<Role>;
  readonly services: { readonly user: ServiceLocation; readonly score: ServiceLocation };
  readonly grpc: {
    readonly userAddress: ListenAddress;
    readonly scoreAddress: ListenAddress;
    readonly deadlineMs: number;
    /** Every gRPC call carries it; undefined only when this process neither serves nor calls gRPC. */
    readonly serviceToken: string | undefined;
    /** PEM contents. cert+key: serve (and call) with TLS; ca: verify peers, and require client certs. */
    readonly tls: { readonly cert?: Buffer; readonly key?: Buffer; readonly ca?: Buffer } | undefined;
    /** Server reflection (answers without a token): on outside production, off in it unless asked for. */
    readonly reflection: boolean;
  };
  readonly database: {
    /** undefined: use 127.0.0.1:3306 if it answers, otherwise start a private server (see db/local-server). */
    readonly url: string | undefined;
    /** Each service's own database; each defaults to `url`. */
    readonly userUrl: string | undefined;
    readonly scoreUrl: string | undefined;
    readonly sagaUrl: string | undefined;
    readonly poolSize: number;
    readonly dataDir: string;
  };
  readonly jwt: { readonly secret: string; readonly expiresInSeconds: number };
  /** `redisUrl`: where processes tell each other which cached rows a compensation deleted. */
  readonly cache: { readonly max: number; readonly ttlMs: number; readonly redisUrl: string | undefined };
  readonly score: { readonly rejectedValues: readonly number[] };
  readonly barrier: { readonly retentionMs: number; readonly pruneIntervalMs: number };
  readonly saga: {
    readonly timeoutMs: number;
    readonly retry: { readonly baseMs: number; readonly factor: number; readonly maxMs: number };
    readonly alertRetryLimit: number;
    readonly leaseMs: number;
    readonly recoveryIntervalMs: number;
    /** Final sagas that finished longer ago than `retentionMs` are deleted, every `pruneIntervalMs` (0: never). */
    readonly retention: { readonly retentionMs: number; readonly pruneIntervalMs: number };
    /** Seals secrets (password hashes) in saga input; derived from JWT_SECRET unless SAGA_SECRET_KEY is set. */
    readonly secretKey: string;
    readonly coordinatorId: string | undefined;
  };
  readonly api: {
    readonly registerWaitMs: number;
    readonly shutdownGraceMs: number;
    /** Bearer token for the admin routes; undefined in production when unset (admin routes answer 404). */
    readonly adminToken: string | undefined;
    /**
     * Login attempts per window: `maxPerIdAndClient` for one id from one client (strict), `maxPerId` for
     * one id from everywhere (loose, so a stranger cannot lock the owner out), `maxPerClient` for one
     * client across ids.
     */
    readonly login: {
      readonly maxPerIdAndClient: number;
      readonly maxPerId: number;
      readonly maxPerClient: number;
      readonly windowMs: number;
    };
    /** Registrations per client per window. */
    readonly register: { readonly maxPerClient: number; readonly windowMs: number };
    /** Registrations under way in this process above which POST /register answers 503. */
    readonly maxSagasInFlight: number;
    readonly trustProxy: TrustProxy;
  };
  /** The Stately inspector (development only): its local server on 127.0.0.1:port. */
  readonly inspect: { readonly enabled: boolean; readonly port: number };
  /** Fault injection (FAULTS) for test and bench runs; undefined when off. */
  readonly faults: FaultPlan | undefined;
  readonly tracing: {
    /** Where spans go (OTLP over HTTP); undefined: tracing is off and no OpenTelemetry module is loaded. */
    readonly export: TraceExport | undefined;
    /** A trace UI's page for one trace (`{traceId}` replaced), linked from the saga view. */
    readonly urlTemplate: string | undefined;
  };
  /** Things worth a log line at start (a generated secret, say), logged once the logger exists. */
  readonly warnings: readonly string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment once; the result is frozen and handed down as one object. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environment.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  const warnings: string[] = [];

  const production = env.NODE_ENV === 'production';
  /** In production a secret must not be a placeholder or typed by hand, whatever its length. */
  const checkStrength = (name: string, value: string | undefined) => {
    const weak = production && value !== undefined ? weakSecretReason(value) : undefined;
    if (weak) problems.push(`${name} ${weak}; refused when NODE_ENV=production`);
  };
  let jwtSecret = env.JWT_SECRET;
  if (production) {
    if (jwtSecret === undefined || jwtSecret.length < MIN_PRODUCTION_SECRET_LENGTH) {
      problems.push(
        `JWT_SECRET expects at least ${MIN_PRODUCTION_SECRET_LENGTH} characters when NODE_ENV=production` +
          ` (generate one with: openssl rand -base64 48)`,
      );
    } else checkStrength('JWT_SECRET', jwtSecret);
  } else if (jwtSecret === undefined) {
    const kept = developmentSecret(env.DATA_DIR);
    if ('secret' in kept) {
      jwtSecret = kept.secret;
      warnings.push(
        `JWT_SECRET is not set: using the development secret ${kept.created ? 'created now in' : 'kept in'} ` +
          `${env.DATA_DIR}/dev-secret (set JWT_SECRET in production)`,
      );
    } else {
      jwtSecret = randomBytes(32).toString('base64url');
      warnings.push(
        `JWT_SECRET is not set and the development secret cannot be used (${kept.refused}): generated a secret ` +
          'for this process alone; tokens and sealed saga inputs will not survive a restart',
      );
    }
  }
  if (env.SAGA_SECRET_KEY !== undefined && env.SAGA_SECRET_KEY.length < MIN_PRODUCTION_SECRET_LENGTH) {
    problems.push(`SAGA_SECRET_KEY expects at least ${MIN_PRODUCTION_SECRET_LENGTH} characters`);
  } else checkStrength('SAGA_SECRET_KEY', env.SAGA_SECRET_KEY);
  if (env.RETRY_MAX_MS < env.RETRY_BASE_MS) {
    problems.push(`RETRY_MAX_MS expects a value no smaller than RETRY_BASE_MS (${env.RETRY_BASE_MS})`);
  }
  if (env.ADMIN_TOKEN !== undefined && env.ADMIN_TOKEN.length < 16) {
    problems.push('ADMIN_TOKEN expects at least 16 characters');
  } else checkStrength('ADMIN_TOKEN', env.ADMIN_TOKEN);
  const roles = new Set<Role>();
  for (const role of env.ROLES.split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    if ((roleNames as readonly string[]).includes(role)) roles.add(role as Role);
    else problems.push(`ROLES expects a comma-separated list of ${roleNames.join(', ')}, got "${env.ROLES}"`);
  }
  if (roles.size === 0) problems.push(`ROLES expects at least one of ${roleNames.join(', ')}`);

  const location = (name: string, value: string): ServiceLocation => {
    if (value === 'local') return { kind: 'local' };
    const target = parseServiceTarget(value);
    if (typeof target === 'string') {
      problems.push(`${name} ${target}`);
      return { kind: 'local' };
    }
    return { kind: 'grpc', ...target };
  };
  const services = {
    user: location('USER_SERVICE', env.USER_SERVICE),
    score: location('SCORE_SERVICE', env.SCORE_SERVICE),
  };
  const listen = (name: string, value: string): ListenAddress => {
    const address = parseListenAddress(value);
    if (typeof address === 'string') {
      problems.push(`${name} ${address}`);
      return { host: '127.0.0.1', port: 0 };
    }
    return address;
  };
  const userAddress = listen('USER_GRPC_ADDR', env.USER_GRPC_ADDR);
  const scoreAddress = listen('SCORE_GRPC_ADDR', env.SCORE_GRPC_ADDR);

  const servesGrpc = roles.has('user') || roles.has('score');
  const callsGrpc = roles.has('api') && (services.user.kind === 'grpc' || services.score.kind === 'grpc');
  let serviceToken = env.SERVICE_TOKEN;
  if (serviceToken !== undefined && serviceToken.length < 16)
    problems.push('SERVICE_TOKEN expects at least 16 characters');
  else checkStrength('SERVICE_TOKEN', serviceToken);
  if (serviceToken === undefined && (servesGrpc || callsGrpc)) {
    if (env.NODE_ENV === 'production') {
      problems.push(
        `SERVICE_TOKEN is required when this process ${servesGrpc ? 'serves' : 'calls'} gRPC services in production` +
          ' (the same value in every process; generate one with: openssl rand -base64 32)',
      );
    } else {
      serviceToken = randomBytes(24).toString('base64url');
      warnings.push(
        `SERVICE_TOKEN is not set: generated one for this process: ${serviceToken} ` +
          '(processes of a split deployment need the same SERVICE_TOKEN)',
      );
    }
  }

  const readPem = (name: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      problems.push(
        `${name} expects a readable PEM file, got "${path}" (${(error as NodeJS.ErrnoException).code})`,
      );
      return undefined;
    }
  };
  const cert = readPem('GRPC_TLS_CERT', env.GRPC_TLS_CERT);
  const key = readPem('GRPC_TLS_KEY', env.GRPC_TLS_KEY);
  const ca = readPem('GRPC_TLS_CA', env.GRPC_TLS_CA);
  if ((env.GRPC_TLS_CERT === undefined) !== (env.GRPC_TLS_KEY === undefined)) {
    problems.push('GRPC_TLS_CERT and GRPC_TLS_KEY expect to be set together');
  }
  if (servesGrpc && env.GRPC_TLS_CA !== undefined && env.GRPC_TLS_CERT === undefined) {
    problems.push('GRPC_TLS_CA on a process that serves gRPC expects GRPC_TLS_CERT and GRPC_TLS_KEY too');
  }
  const tls =
    cert || key || ca
      ? { ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(ca ? { ca } : {}) }
      : undefined;

  // Plain-text gRPC off the machine carries the service token, password hashes and verifyPassword's
  // passwords in clear (issue #14). A server uses TLS with a certificate; a client with any TLS file.
  const clearListeners = [
    ...(roles.has('user') ? [['USER_GRPC_ADDR', userAddress.host] as const] : []),
    ...(roles.has('score') ? [['SCORE_GRPC_ADDR', scoreAddress.host] as const] : []),
  ].filter(([, host]) => !cert && !isLoopbackHost(host));
  const clearTargets = roles.has('api')
    ? (
        [
          ['USER_SERVICE', services.user],
          ['SCORE_SERVICE', services.score],
        ] as const
      ).filter(
        ([, location]) =>
          location.kind === 'grpc' && !tls && !location.hosts.every((host) => isLoopbackHost(host)),
      )
    : [];
  const clear = [...clearListeners.map(([name]) => name), ...clearTargets.map(([name]) => name)];
  if (clear.length > 0) {
    const what = `gRPC in plain text beyond this machine (${clear.join(', ')}): the service token, password hashes and passwords cross the network in clear`;
    if (production && !env.GRPC_PLAINTEXT) {
      problems.push(
        `${clear[0]} is not a loopback address and no TLS is configured: ${what}; set GRPC_TLS_CERT and GRPC_TLS_KEY` +
          ' (GRPC_TLS_CA on clients), or GRPC_PLAINTEXT=true if the network is yours to trust',
      );
    } else warnings.push(`${what}${env.GRPC_PLAINTEXT ? ' (GRPC_PLAINTEXT=true)' : ''}`);
  }

  // Without a URL the service falls back to root@127.0.0.1 with no password, or a private server: for a
  // developer's machine, never for production.
  const api = roles.has('api');
  const databaseNeeds = [
    ...(roles.has('user') || (api && services.user.kind === 'local')
      ? [['USER_DATABASE_URL', env.USER_DATABASE_URL] as const]
      : []),
    ...(roles.has('score') || (api && services.score.kind === 'local')
      ? [['SCORE_DATABASE_URL', env.SCORE_DATABASE_URL] as const]
      : []),
    ...(api ? [['SAGA_DATABASE_URL', env.SAGA_DATABASE_URL] as const] : []),
  ];
  const unset = databaseNeeds.filter(([, url]) => (url ?? env.DATABASE_URL) === undefined);
  if (production && unset.length > 0) {
    problems.push(
      `DATABASE_URL is required when NODE_ENV=production (or ${unset.map(([name]) => name).join(', ')}):` +
        ' without one the service would use root@127.0.0.1 with no password, or start a private server',
    );
  }

  const trustProxy = parseTrustProxy(env.TRUST_PROXY);
  if (typeof trustProxy === 'string') problems.push(`TRUST_PROXY ${trustProxy}`);
  else if (trustProxy === true) {
    const why =
      'trusts every X-Forwarded-For entry, so a client can claim any address and void the per-client limits;' +
      ' give the hop count (TRUST_PROXY=1) or the proxies (TRUST_PROXY=10.0.0.0/8)';
    if (env.NODE_ENV === 'production')
      problems.push(`TRUST_PROXY=true is refused when NODE_ENV=production: it ${why}`);
    else warnings.push(`TRUST_PROXY=true ${why}`);
  }
  // A pruned saga's Idempotency-Key starts a new saga with the same gid: its branches must not find the
  // old saga's barrier rows, which would make them look already done (or compensated).
  if (env.SAGA_RETENTION <= env.BARRIER_RETENTION) {
    problems.push(
      `SAGA_RETENTION expects more than BARRIER_RETENTION (${env.BARRIER_RETENTION} ms): a saga's barrier rows must be gone before its Idempotency-Key can start a new saga`,
    );
  }
  if (env.HTTP_CONNECTION_TIMEOUT <= env.REGISTER_WAIT_MS) {
    problems.push(
      `HTTP_CONNECTION_TIMEOUT expects more than REGISTER_WAIT_MS (${env.REGISTER_WAIT_MS} ms): a registration waits that long on a silent connection`,
    );
  }

  if (env.INSPECT && env.NODE_ENV === 'production') {
    problems.push(
      'INSPECT (--inspect) is refused when NODE_ENV=production: it serialises every saga state for a browser',
    );
  }

  let faults: FaultPlan | undefined;
  if (env.FAULTS !== undefined) {
    const rules = parseFaultSpec(env.FAULTS);
    const seed = env.FAULTS_SEED === undefined ? randomBytes(4).readUInt32BE() : Number(env.FAULTS_SEED);
    if (env.NODE_ENV === 'production') problems.push('FAULTS is refused when NODE_ENV=production');
    else if (typeof rules === 'string') problems.push(`FAULTS ${rules}`);
    else if (!Number.isSafeInteger(seed) || seed < 0 || !/^\d+$/.test(env.FAULTS_SEED ?? '0')) {
      problems.push(`FAULTS_SEED expects a whole number, got "${env.FAULTS_SEED}"`);
    } else if (rules.length > 0) {
      faults = { rules, seed };
      warnings.push(`fault injection is on: FAULTS="${env.FAULTS}" FAULTS_SEED=${seed}`);
    }
  }

  const tracing = {
    // Named by its roles unless OTEL_SERVICE_NAME says otherwise: saga-api-user-score, saga-user, …
    export: parseTraceExport(env, `saga-${roleNames.filter((role) => roles.has(role)).join('-')}`, problems),
    urlTemplate: parseTraceUrlTemplate(env.TRACE_URL_TEMPLATE, problems),
  };

  if (problems.length > 0) throw new ConfigError(problems);

  let adminToken = env.ADMIN_TOKEN;
  if (adminToken === undefined && env.NODE_ENV !== 'production') {
    adminToken = randomBytes(24).toString('base64url');
    warnings.push(`ADMIN_TOKEN is not set: generated one for this process: ${adminToken}`);
  }

  return deepFreeze({
    env: env.NODE_ENV,
    http: {
      host: env.HOST,
      port: env.PORT,
      metricsPort: env.METRICS_PORT,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT,
      connectionTimeoutMs: env.HTTP_CONNECTION_TIMEOUT,
    },
    log: { level: env.LOG_LEVEL },
    roles,
    services,
    grpc: {
      userAddress,
      scoreAddress,
      deadlineMs: env.GRPC_DEADLINE_MS,
      serviceToken,
      tls,
      reflection: env.GRPC_REFLECTION ?? !production,
    },
    database: {
      url: env.DATABASE_URL,
      userUrl: env.USER_DATABASE_URL ?? env.DATABASE_URL,
      scoreUrl: env.SCORE_DATABASE_URL ?? env.DATABASE_URL,
      sagaUrl: env.SAGA_DATABASE_URL ?? env.DATABASE_URL,
      poolSize: env.DB_POOL_SIZE,
      dataDir: env.DATA_DIR,
    },
    jwt: { secret: jwtSecret as string, expiresInSeconds: env.JWT_EXPIRES_IN },
    cache: { max: env.CACHE_MAX, ttlMs: env.CACHE_TTL_MS, redisUrl: env.REDIS_URL },
    score: { rejectedValues: env.SCORE_REJECTED_VALUES },
    barrier: { retentionMs: env.BARRIER_RETENTION, pruneIntervalMs: env.BARRIER_PRUNE_INTERVAL },
    saga: {
      timeoutMs: env.SAGA_TIMEOUT_MS,
      retry: { baseMs: env.RETRY_BASE_MS, factor: env.RETRY_FACTOR, maxMs: env.RETRY_MAX_MS },
      alertRetryLimit: env.ALERT_RETRY_LIMIT,
      leaseMs: env.SAGA_LEASE_MS,
      recoveryIntervalMs: env.RECOVERY_INTERVAL_MS,
      retention: { retentionMs: env.SAGA_RETENTION, pruneIntervalMs: env.SAGA_PRUNE_INTERVAL },
      secretKey: env.SAGA_SECRET_KEY ?? (jwtSecret as string),
      coordinatorId: env.COORDINATOR_ID,
    },
    api: {
      registerWaitMs: env.REGISTER_WAIT_MS,
      shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
      adminToken,
      login: {
        maxPerIdAndClient: env.LOGIN_RATE_MAX,
        maxPerId: env.LOGIN_ID_RATE_MAX,
        maxPerClient: env.LOGIN_IP_RATE_MAX,
        windowMs: env.LOGIN_RATE_WINDOW,
      },
      register: { maxPerClient: env.REGISTER_RATE_MAX, windowMs: env.REGISTER_RATE_WINDOW },
      maxSagasInFlight: env.MAX_SAGAS_IN_FLIGHT,
      trustProxy: trustProxy as TrustProxy,
    },
    inspect: { enabled: env.INSPECT, port: env.INSPECT_PORT },
    faults,
    tracing,
    warnings,
  });
}

function deepFreeze<T>(value: T): T {
  // Buffers and Sets keep their own identity: freezing a Buffer throws, and a Set cannot be frozen usefully.
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Set)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
