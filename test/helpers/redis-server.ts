import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export const NO_REDIS_HELP =
  'The cache invalidation tests need Redis: none answers on 127.0.0.1:6379 and no redis-server binary was found to start one.\n' +
  'Install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis),\n' +
  'or point the tests at a server: TEST_REDIS_URL=redis://host:6379 npm test';

/** Whether a Redis server answers PING at `url` (a bare RESP exchange: no client needed to find one). */
export function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function findRedisServer(): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/bin',
    '/usr/sbin',
    '/usr/local/bin',
    '/opt/homebrew/bin',
  ];
  return dirs.map((dir) => join(dir, 'redis-server')).find((path) => existsSync(path));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The Redis the tests use: TEST_REDIS_URL, else 127.0.0.1:6379, else a throwaway redis-server started
 * from the system's binary on a free port (no persistence), stopped after the run. Like the database,
 * so `npm test` works where Redis is installed but not running, and says what is missing otherwise.
 */
export async function findOrStartRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const wanted = process.env.TEST_REDIS_URL ?? DEFAULT_REDIS_URL;
  if (await redisAnswers(wanted)) return { url: wanted, stop: async () => {} };
  if (process.env.TEST_REDIS_URL || !findRedisServer())
    throw new Error(`${NO_REDIS_HELP}\n(tried ${wanted})`);
  return startRedisServer();
}

/** A private redis-server (no persistence) on `port` or a free one, for the run or for one test. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  const binary = findRedisServer();
  if (!binary) throw new Error(NO_REDIS_HELP);
  port ??= await freePort();
  const child: ChildProcess = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (await redisAnswers(url)) {
      return {
        url,
        port,
        async stop() {
          if (child.exitCode !== null) return;
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server (${binary}) did not answer on ${url} within 10 s`);
}
