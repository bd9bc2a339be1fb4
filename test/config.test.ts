import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

/** A secret as `openssl rand -base64 48` makes one: long, and of many different characters. */
const STRONG_SECRET = 'q3J0vX9sLr2T8bNwZk5YhPcA7mDfUe4GiOj1WlVxRn6SaKtBy';
const OTHER_SECRET = 'Hn2Wq8ZrT5vKx1Lm7Pc4Ys9Bd3Jf6Ga0';
/** The least a production process needs. */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'mysql://saga:pw@db:3306/saga',
  JWT_SECRET: STRONG_SECRET,
  SERVICE_TOKEN: OTHER_SECRET,
} as const;

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({
      host: '127.0.0.1',
      port: 8888,
      requestTimeoutMs: 10_000,
      connectionTimeoutMs: 120_000,
    });
    expect(config.api.register).toEqual({ maxPerClient: 20, windowMs: 60_000 });
    expect(config.api.maxSagasInFlight).toBe(1_000);
    expect(config.api.login).toEqual({
      maxPerIdAndClient: 10,
      maxPerId: 100,
      maxPerClient: 100,
      windowMs: 60_000,
    });
    expect(config.api.trustProxy).toBe(false);
    expect(config.jwt.expiresInSeconds).toBe(86_400);
    expect(config.score.rejectedValues).toEqual([10]);
    expect(config.cache).toEqual({ max: 10_000, ttlMs: 60_000, redisUrl: undefined });
    expect(config.database.url).toBeUndefined();
    expect(config.barrier).toEqual({ retentionMs: 7 * 86_400_000, pruneIntervalMs: 3_600_000 });
  });

  it('generates a JWT secret outside production, keeps it for the next start, and says so', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'saga-config-'));
    try {
      const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
      expect(first.jwt.secret.length).toBeGreaterThanOrEqual(32);
      expect(first.warnings.join()).toMatch(
        /JWT_SECRET is not set: using the development secret created now/,
      );
      // A restart (or a second local process) gets the same secret: sealed saga inputs stay readable.
      const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
      expect(second.jwt.secret).toBe(first.jwt.secret);
      expect(second.saga.secretKey).toBe(first.saga.secretKey);
      expect(second.warnings.join()).toMatch(/kept in/);
      expect(statSync(join(dataDir, 'dev-secret')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reads METRICS_PORT, unset by default, and names it when it is not a port', () => {
    expect(loadConfig({}).http.metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9101' }).http.metricsPort).toBe(9101);
    expect(() => loadConfig({ METRICS_PORT: 'ninety' })).toThrow(
      /METRICS_PORT expects an integer from 0 to 65535/,
    );
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
  });

  it('refuses to start in production without a JWT secret of at least 32 characters', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET expects at least 32 characters/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(ConfigError);
    const strong = { ...PRODUCTION, SERVICE_TOKEN: OTHER_SECRET };
    expect(loadConfig(strong).jwt.secret).toBe(STRONG_SECRET);
  });

  it('refuses in production the placeholder secret of .env.example, and secrets typed by hand', () => {
    const example = /^#?\s*JWT_SECRET=(.+)$/m.exec(
      readFileSync(new URL('../.env.example', import.meta.url), 'utf8'),
    );
    const placeholder = example?.[1]?.trim() as string;
    expect(placeholder.length).toBeGreaterThanOrEqual(32);
    expect(() => loadConfig({ ...PRODUCTION, JWT_SECRET: placeholder })).toThrow(
      /JWT_SECRET is a placeholder from an example; refused when NODE_ENV=production/,
    );
    for (const typed of [
      'z'.repeat(32),
      'abcabcabcabcabcabcabcabcabcabcabc',
      '12341234123412341234123412341234',
    ])
      expect(() => loadConfig({ ...PRODUCTION, JWT_SECRET: typed }), typed).toThrow(
        /JWT_SECRET has only \d+ distinct characters/,
      );
    expect(() => loadConfig({ ...PRODUCTION, SAGA_SECRET_KEY: 'y'.repeat(40) })).toThrow(
      /SAGA_SECRET_KEY has only 1/,
    );
    expect(() => loadConfig({ ...PRODUCTION, ADMIN_TOKEN: 'a'.repeat(20) })).toThrow(
      /ADMIN_TOKEN has only 1/,
    );
    expect(() => loadConfig({ ...PRODUCTION, ROLES: 'user', SERVICE_TOKEN: 's'.repeat(20) })).toThrow(
      /SERVICE_TOKEN has only 1/,
    );
    // A hex secret (openssl rand -hex 32) has 16 distinct characters at most: accepted.
    expect(loadConfig({ ...PRODUCTION, JWT_SECRET: '3f9a0c7b1e5d2864af0b9c3e7d1a5f28' }).env).toBe(
      'production',
    );
    // Outside production the rules stay as they were: tests and laptops use what they like.
    expect(loadConfig({ JWT_SECRET: placeholder }).jwt.secret).toBe(placeholder);
  });

  it('refuses to start in production without a database URL, naming the variable', () => {
    const { DATABASE_URL: _, ...withoutUrl } = PRODUCTION;
    expect(() => loadConfig(withoutUrl)).toThrow(/DATABASE_URL is required when NODE_ENV=production/);
    expect(() =>
      loadConfig({ ...withoutUrl, ROLES: 'api,user', SAGA_DATABASE_URL: 'mysql://saga:pw@db/sagas' }),
    ).toThrow(/\(or USER_DATABASE_URL, SCORE_DATABASE_URL\)/);
    expect(
      loadConfig({
        ...withoutUrl,
        ROLES: 'api',
        USER_SERVICE: 'grpc://127.0.0.1:50051',
        SCORE_SERVICE: 'grpc://127.0.0.1:50052',
        SERVICE_TOKEN: OTHER_SECRET,
        SAGA_DATABASE_URL: 'mysql://saga:pw@db/sagas',
      }).database.sagaUrl,
    ).toBe('mysql://saga:pw@db/sagas');
  });

  it('refuses plain-text gRPC beyond loopback in production unless TLS or GRPC_PLAINTEXT is set', () => {
    const split = { ...PRODUCTION, SERVICE_TOKEN: OTHER_SECRET };
    expect(() => loadConfig({ ...split, ROLES: 'user', USER_GRPC_ADDR: '0.0.0.0:50051' })).toThrow(
      /USER_GRPC_ADDR is not a loopback address and no TLS is configured/,
    );
    expect(() => loadConfig({ ...split, ROLES: 'api', USER_SERVICE: 'grpc://10.0.0.5:50051' })).toThrow(
      /USER_SERVICE is not a loopback address and no TLS is configured/,
    );
    expect(() =>
      loadConfig({ ...split, ROLES: 'api', SCORE_SERVICE: 'grpc://score.internal:50052' }),
    ).toThrow(/SCORE_SERVICE is not a loopback address/);
    // Loopback stays on the machine.
    expect(
      loadConfig({ ...split, ROLES: 'api,user', USER_SERVICE: 'grpc://127.0.0.1:50051' }).warnings,
    ).toEqual([]);
    // Asked for explicitly: allowed, and said at start.
    const plain = loadConfig({
      ...split,
      ROLES: 'user',
      USER_GRPC_ADDR: '0.0.0.0:50051',
      GRPC_PLAINTEXT: 'true',
    });
    expect(plain.warnings.join()).toMatch(/gRPC in plain text beyond this machine \(USER_GRPC_ADDR\)/);
  });

  it('serves gRPC reflection outside production, and in production only when GRPC_REFLECTION asks for it', () => {
    expect(loadConfig({}).grpc.reflection).toBe(true);
    expect(loadConfig({ GRPC_REFLECTION: 'false' }).grpc.reflection).toBe(false);
    expect(loadConfig(PRODUCTION).grpc.reflection).toBe(false);
    expect(loadConfig({ ...PRODUCTION, GRPC_REFLECTION: 'true' }).grpc.reflection).toBe(true);
  });

  it('names every bad variable and what it expects', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', CACHE_TTL_MS: '-5', LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://x/y' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/PORT expects an integer from 0 to 65535, got "eighty"/);
    expect(message).toMatch(/CACHE_TTL_MS expects an integer from 1/);
    expect(message).toMatch(/LOG_LEVEL expects one of fatal, error, warn, info, debug, trace, silent/);
    expect(message).toMatch(/DATABASE_URL expects a mysql:\/\/ or mariadb:\/\/ URL/);
  });

  it('parses lists and durations', () => {
    const config = loadConfig({
      SCORE_REJECTED_VALUES: '10, 20,-3',
      BARRIER_RETENTION: '12h',
      BARRIER_PRUNE_INTERVAL: '0',
    });
    expect(config.score.rejectedValues).toEqual([10, 20, -3]);
    expect(config.barrier).toEqual({ retentionMs: 12 * 3_600_000, pruneIntervalMs: 0 });
    expect(loadConfig({ SCORE_REJECTED_VALUES: 'none' }).score.rejectedValues).toEqual([]);
    expect(() => loadConfig({ SCORE_REJECTED_VALUES: '10,ten' })).toThrow(
      /SCORE_REJECTED_VALUES expects comma-separated integers/,
    );
    expect(() => loadConfig({ BARRIER_RETENTION: '7 days' })).toThrow(/BARRIER_RETENTION expects a duration/);
  });

  it('keeps final sagas SAGA_RETENTION long, longer than their barrier rows', () => {
    expect(loadConfig({}).saga.retention).toEqual({
      retentionMs: 30 * 86_400_000,
      pruneIntervalMs: 3_600_000,
    });
    expect(loadConfig({ SAGA_RETENTION: '90d', SAGA_PRUNE_INTERVAL: '0' }).saga.retention).toEqual({
      retentionMs: 90 * 86_400_000,
      pruneIntervalMs: 0,
    });
    expect(() => loadConfig({ SAGA_RETENTION: '7d' })).toThrow(
      /SAGA_RETENTION expects more than BARRIER_RETENTION/,
    );
    expect(() => loadConfig({ SAGA_RETENTION: '10m' })).toThrow(/SAGA_RETENTION expects a duration/);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '' }).http).toMatchObject({ host: '127.0.0.1', port: 8888 });
  });

  it('reads TRUST_PROXY as a hop count or a list of proxy addresses and CIDRs', () => {
    expect(loadConfig({ TRUST_PROXY: '0' }).api.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'false' }).api.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).api.trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, fd00::/8,127.0.0.1, loopback' }).api.trustProxy).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '127.0.0.1',
      'loopback',
    ]);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '::1/129', '10.0.0.1/8/8', '11'])
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY expects/);
  });

  it('refuses TRUST_PROXY=true in production, naming it, and warns about it elsewhere', () => {
    const production = { ...PRODUCTION, ROLES: 'api' };
    expect(() => loadConfig({ ...production, TRUST_PROXY: 'true' })).toThrow(
      /TRUST_PROXY=true is refused when NODE_ENV=production/,
    );
    expect(loadConfig({ ...production, TRUST_PROXY: '10.0.0.0/8' }).api.trustProxy).toEqual(['10.0.0.0/8']);
    expect(loadConfig({ TRUST_PROXY: 'true' }).warnings.join()).toMatch(/TRUST_PROXY=true trusts every/);
  });

  it('reads REDIS_URL, unset by default, and names it when it is not a Redis URL', () => {
    expect(loadConfig({}).cache.redisUrl).toBeUndefined();
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).cache.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(loadConfig({ REDIS_URL: 'rediss://cache.internal:6380' }).cache.redisUrl).toBe(
      'rediss://cache.internal:6380',
    );
    expect(() => loadConfig({ REDIS_URL: 'http://cache:6379' })).toThrow(/REDIS_URL expects a redis:\/\//);
    expect(() => loadConfig({ REDIS_URL: 'cache:6379' })).toThrow(/REDIS_URL expects/);
  });

  it('reads the abuse limits and the HTTP timeouts', () => {
    const config = loadConfig({
      REGISTER_RATE_MAX: '5',
      REGISTER_RATE_WINDOW: '10m',
      MAX_SAGAS_IN_FLIGHT: '50',
      LOGIN_ID_RATE_MAX: '30',
      HTTP_REQUEST_TIMEOUT: '5s',
      HTTP_CONNECTION_TIMEOUT: '30s',
    });
    expect(config.api.register).toEqual({ maxPerClient: 5, windowMs: 600_000 });
    expect(config.api.maxSagasInFlight).toBe(50);
    expect(config.api.login.maxPerId).toBe(30);
    expect(config.http).toMatchObject({ requestTimeoutMs: 5_000, connectionTimeoutMs: 30_000 });
    expect(() => loadConfig({ MAX_SAGAS_IN_FLIGHT: '0' })).toThrow(/MAX_SAGAS_IN_FLIGHT expects an integer/);
    expect(() => loadConfig({ HTTP_CONNECTION_TIMEOUT: '5s' })).toThrow(
      /HTTP_CONNECTION_TIMEOUT expects more than REGISTER_WAIT_MS/,
    );
  });

  it('defaults to the monolith: all three roles, services in-process, gRPC on 50051 and 50052', () => {
    const config = loadConfig({});
    expect([...config.roles].sort()).toEqual(['api', 'score', 'user']);
    expect(config.services).toEqual({ user: { kind: 'local' }, score: { kind: 'local' } });
    expect(config.grpc.userAddress).toEqual({ host: '127.0.0.1', port: 50_051 });
    expect(config.grpc.scoreAddress).toEqual({ host: '127.0.0.1', port: 50_052 });
    expect(config.grpc.deadlineMs).toBe(3_000);
  });

  it('reads roles and remote service locations', () => {
    const config = loadConfig({
      ROLES: 'api',
      USER_SERVICE: 'grpc://10.0.0.1:1,10.0.0.2:1',
      SCORE_SERVICE: 'grpc://score.internal:50052',
      SERVICE_TOKEN: 'a-service-token-of-enough-length',
    });
    expect([...config.roles]).toEqual(['api']);
    expect(config.services.user).toMatchObject({ kind: 'grpc', target: 'ipv4:10.0.0.1:1,10.0.0.2:1' });
    expect(config.services.score).toMatchObject({ kind: 'grpc', target: 'dns:///score.internal:50052' });
  });

  it('gives each service its own database URL, defaulting to DATABASE_URL', () => {
    const config = loadConfig({
      DATABASE_URL: 'mysql://root@db:3306/all',
      SCORE_DATABASE_URL: 'mysql://root@db2:3306/scores',
    });
    expect(config.database).toMatchObject({
      userUrl: 'mysql://root@db:3306/all',
      scoreUrl: 'mysql://root@db2:3306/scores',
      sagaUrl: 'mysql://root@db:3306/all',
    });
  });

  it('refuses unknown roles and bad service locations by name', () => {
    expect(() => loadConfig({ ROLES: 'api,billing' })).toThrow(
      /ROLES expects a comma-separated list of api, user, score/,
    );
    expect(() => loadConfig({ USER_SERVICE: 'remote' })).toThrow(/USER_SERVICE expects "local" or grpc:\/\//);
    expect(() => loadConfig({ SCORE_GRPC_ADDR: 'nowhere' })).toThrow(/SCORE_GRPC_ADDR expects host:port/);
  });

  it('refuses a gRPC role or a gRPC client without SERVICE_TOKEN in production', () => {
    const { SERVICE_TOKEN: _, ...production } = { ...PRODUCTION, ADMIN_TOKEN: OTHER_SECRET };
    expect(() => loadConfig({ ...production, ROLES: 'user' })).toThrow(/SERVICE_TOKEN is required/);
    expect(() => loadConfig({ ...production, ROLES: 'api', USER_SERVICE: 'grpc://127.0.0.1:1' })).toThrow(
      /SERVICE_TOKEN is required/,
    );
    expect(loadConfig({ ...production, ROLES: 'api' }).grpc.serviceToken).toBeUndefined();
  });

  it('generates a service token outside production and says so', () => {
    const config = loadConfig({ ROLES: 'user' });
    expect(config.grpc.serviceToken?.length).toBeGreaterThanOrEqual(16);
    expect(config.warnings.join()).toMatch(/SERVICE_TOKEN is not set/);
  });

  it('refuses TLS settings that do not fit together', () => {
    expect(() => loadConfig({ GRPC_TLS_CERT: '/nonexistent/cert.pem' })).toThrow(
      /GRPC_TLS_CERT expects a readable PEM file/,
    );
    expect(() => loadConfig({ GRPC_TLS_CERT: 'package.json' })).toThrow(
      /GRPC_TLS_CERT and GRPC_TLS_KEY expect to be set together/,
    );
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });
});

describe('tracing configuration (OTEL_* variables)', () => {
  const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };

  it('is off unless an OTLP endpoint is set, or when the SDK is disabled', () => {
    expect(loadConfig({}).tracing).toEqual({ export: undefined, urlTemplate: undefined });
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing.export).toBeUndefined();
  });

  it('exports to the endpoint’s /v1/traces in protobuf, named by the roles, sampling every trace', () => {
    expect(loadConfig(endpoint).tracing.export).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      serviceName: 'saga-api-user-score',
      sampler: 'parentbased_always_on',
      ratio: 1,
    });
    expect(loadConfig({ ...endpoint, ROLES: 'user' }).tracing.export?.serviceName).toBe('saga-user');
    expect(loadConfig({ ...endpoint, ROLES: 'score,api' }).tracing.export?.serviceName).toBe(
      'saga-api-score',
    );
  });

  it('honours the traces endpoint as given, the protocol, the service name and the sampler', () => {
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/otlp/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'registrations',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
    });
    expect(config.tracing.export).toEqual({
      url: 'https://collector.example/otlp/traces',
      protocol: 'http/json',
      serviceName: 'registrations',
      sampler: 'parentbased_traceidratio',
      ratio: 0.25,
    });
    expect(
      loadConfig({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' }).tracing.export?.protocol,
    ).toBe('http/json');
  });

  it('refuses what it cannot honour, naming the variable', () => {
    expect(() => loadConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL expects http\/protobuf or http\/json, got "grpc"/,
    );
    expect(() => loadConfig({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'thrift' })).toThrow(
      /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL expects/,
    );
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT expects an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(
      /OTEL_TRACES_SAMPLER expects one of/,
    );
    for (const ratio of ['2', '-0.5', 'half']) {
      expect(() => loadConfig({ ...endpoint, OTEL_TRACES_SAMPLER_ARG: ratio })).toThrow(
        /OTEL_TRACES_SAMPLER_ARG expects a ratio from 0 to 1/,
      );
    }
  });

  it('takes a trace UI link with {traceId} in an http(s) URL, and nothing else', () => {
    expect(
      loadConfig({ TRACE_URL_TEMPLATE: 'http://jaeger:16686/trace/{traceId}' }).tracing.urlTemplate,
    ).toBe('http://jaeger:16686/trace/{traceId}');
    for (const template of [
      'http://jaeger:16686/trace/',
      'javascript:alert({traceId})',
      '/trace/{traceId}',
    ]) {
      expect(() => loadConfig({ TRACE_URL_TEMPLATE: template })).toThrow(/TRACE_URL_TEMPLATE expects/);
    }
  });
});
