import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { redactUrl } from '../db/database-url.js';
import { type CacheInvalidation, localOnly } from '../domain/cache.js';
import type { Closers } from './closers.js';
import type { Plan } from './plan.js';

/**
 * How this process's caches hear about rows deleted elsewhere: over Redis when REDIS_URL is set and it
 * hosts a service with a cache (loaded only then), else not at all (entries live until CACHE_TTL_MS).
 */
export async function cacheInvalidation(
  config: Config,
  plan: Plan,
  logger: Logger,
  closers: Closers,
): Promise<CacheInvalidation> {
  if (config.cache.redisUrl === undefined || !(plan.hostsUser || plan.hostsScore)) return localOnly;
  const { connectRedisInvalidation } = await import('../cache/redis-invalidation.js');
  const redis = await connectRedisInvalidation(config.cache.redisUrl, logger.child({ component: 'cache' }));
  closers.add(() => redis.close());
  logger.info({ redis: redactUrl(config.cache.redisUrl) }, 'cache invalidation across processes over Redis');
  return redis;
}
