import { randomUUID } from 'node:crypto';
import { createClient } from '@redis/client';
import type { CacheInvalidation, InvalidationListener } from '../domain/cache.js';

/** Every process of every deployment on this Redis listens here; a stray message only costs a miss. */
export const INVALIDATION_CHANNEL = 'saga-service:cache-invalidation';
const CONNECT_TIMEOUT_MS = 5_000;

export interface InvalidationLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface RedisInvalidation extends CacheInvalidation {
  close(): Promise<void>;
}

interface Message {
  /** The publishing process, which has already forgotten the key itself. */
  readonly origin: string;
  readonly cache: string;
  readonly key: string;
}

function parse(text: string): Message | undefined {
  try {
    const message = JSON.parse(text) as Partial<Message>;
    return typeof message.origin === 'string' &&
      typeof message.cache === 'string' &&
      typeof message.key === 'string'
      ? (message as Message)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Cache invalidation over Redis pub/sub, the go-zero tutorial's cache store used as a message bus only:
 * each process keeps its lru-cache, and publishes the keys a compensation deleted; the others drop them.
 * Pub/sub delivers only to who is connected, so after the subscriber reconnects every cache is emptied
 * (what was deleted meanwhile is unknown). While Redis is unreachable a process serves what it cached,
 * for up to CACHE_TTL_MS, as it would without Redis; node-redis reconnects on its own and holds
 * publishes until then.
 */
export async function connectRedisInvalidation(
  url: string,
  log: InvalidationLog,
  options: { readonly connectTimeoutMs?: number } = {},
): Promise<RedisInvalidation> {
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  const origin = randomUUID();
  const listeners = new Map<string, InvalidationListener>();
  const publisher = createClient({ url, socket: { connectTimeout: connectTimeoutMs } });
  const subscriber = publisher.duplicate();
  let down = false;
  // node-redis reports every failed reconnect; one line per outage is enough.
  const onError = (error: Error) => {
    if (down) return;
    down = true;
    log.warn(
      { err: error },
      'Redis does not answer: caches are invalidated in this process only until it does',
    );
  };
  publisher.on('error', onError);
  subscriber.on('error', onError);
  let subscribedOnce = false;
  subscriber.on('ready', () => {
    if (!subscribedOnce) return;
    for (const listener of listeners.values()) listener.dropAll();
    down = false;
    log.info({}, 'Redis answers again: caches emptied, since invalidations may have been missed');
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.all([publisher.connect(), subscriber.connect()]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`REDIS_URL: no answer from Redis within ${connectTimeoutMs} ms`)),
          connectTimeoutMs,
        );
      }),
    ]);
    await subscriber.subscribe(INVALIDATION_CHANNEL, (text) => {
      const message = parse(text);
      if (message === undefined || message.origin === origin) return;
      listeners.get(message.cache)?.drop(message.key);
    });
    subscribedOnce = true;
  } catch (error) {
    publisher.destroy();
    subscriber.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  return {
    publish(cache, key) {
      const message: Message = { origin, cache, key: String(key) };
      publisher
        .publish(INVALIDATION_CHANNEL, JSON.stringify(message))
        .catch((error: unknown) => log.warn({ err: error, cache }, 'cache invalidation not published'));
    },
    subscribe(cache, listener) {
      listeners.set(cache, listener);
    },
    async close() {
      await Promise.allSettled([subscriber.close(), publisher.close()]);
    },
  };
}
