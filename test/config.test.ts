import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8888 });
    expect(config.jwt.expiresInSeconds).toBe(86_400);
    expect(config.score.rejectedValues).toEqual([10]);
    expect(config.cache).toEqual({ max: 10_000, ttlMs: 60_000 });
    expect(config.database.url).toBeUndefined();
    expect(config.barrier).toEqual({ retentionMs: 7 * 86_400_000, pruneIntervalMs: 3_600_000 });
  });

  it('generates a JWT secret outside production and says so', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config.jwt.secret.length).toBeGreaterThanOrEqual(32);
    expect(config.warnings.join()).toMatch(/JWT_SECRET is not set/);
  });

  it('refuses to start in production without a JWT secret of at least 32 characters', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET expects at least 32 characters/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toThrow(ConfigError);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwt.secret).toBe(
      'x'.repeat(32),
    );
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

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '', HOST: '' }).http).toEqual({ host: '127.0.0.1', port: 8888 });
  });

  it('returns a frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.http)).toBe(true);
  });
});
