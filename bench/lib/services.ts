import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot } from '../../src/project-root.js';
import { benchNodeFlags, loaderFlags, serviceEntry } from './scripts.js';

export const ROOT = `${projectRoot}/`;
export const JWT_SECRET = 'bench-jwt-secret-bench-jwt-secret-0123';
export const SERVICE_TOKEN = 'bench-service-token-0123456789abcdef';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Its stdout (the service's log lines, and whatever V8 prints, e.g. with --trace-gc-nvp). */
  readonly logFile: string;
  /** The last lines the process logged, to say why it did not come up. */
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

let started = 0;

/**
 * The service as `npm start` runs it (compiled, dist/src/main.js; see scripts.ts), production settings,
 * logs as shipped (JSON at info) written to a file (never a pipe, whose filling up would slow it down),
 * removed when it stops. `nodeFlags`: the service's own and BENCH_NODE_FLAGS unless given (an A/B of a
 * flag gives its own).
 */
export function startService(
  env: Record<string, string>,
  script = serviceEntry,
  nodeFlags: readonly string[] = benchNodeFlags(),
): RunningProcess {
  const logFile = join(tmpdir(), `bench-service-${process.pid}-${++started}.log`);
  const log = openSync(logFile, 'w');
  // BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=prof' profiles the services under load.
  const child = spawn(process.execPath, [...nodeFlags, ...loaderFlags, script], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      JWT_SECRET,
      SERVICE_TOKEN,
      BARRIER_PRUNE_INTERVAL: '0',
      SAGA_PRUNE_INTERVAL: '0',
      // The load comes from one address: the per-client limits would measure the limiter.
      REGISTER_RATE_MAX: '1000000',
      ...env,
    },
    stdio: ['ignore', log, 'inherit'],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid as number,
    logFile,
    logTail(lines = 20) {
      try {
        return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000).then(() => child.kill('SIGKILL'))]);
      rmSync(logFile, { force: true });
    },
  };
}

/**
 * The monolith as `npm start` runs it (HTTP API with the user and score services in-process, also served
 * over gRPC) on `databaseUrl`, up and ready.
 */
export async function startMonolith(
  databaseUrl: string,
  options: { poolSize: number; env?: Record<string, string>; nodeFlags?: readonly string[] },
): Promise<{ service: RunningProcess; url: string }> {
  const port = await freePort();
  const service = startService(
    {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      USER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      SCORE_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      DB_POOL_SIZE: String(options.poolSize),
      ...options.env,
    },
    serviceEntry,
    options.nodeFlags,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, service);
  return { service, url };
}

/** Throws, with what the service logged, if it is no longer running: no point waiting for it then. */
function checkAlive(service: RunningProcess | undefined): void {
  const child = service?.child;
  if (child && (child.exitCode !== null || child.signalCode !== null)) {
    throw new Error(
      `the service exited (${child.exitCode ?? child.signalCode}) while starting; it logged:\n${service?.logTail()}`,
    );
  }
}

export async function waitForHttp(url: string, service?: RunningProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastAnswer = 'no answer';
  while (Date.now() < deadline) {
    checkAlive(service);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      lastAnswer = `${response.status} ${await response.text()}`;
    } catch (error) {
      lastAnswer = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(
    `${url} did not answer 200 within ${timeoutMs} ms (last: ${lastAnswer}); the service logged:\n${service?.logTail() ?? ''}`,
  );
}

export async function waitForPort(port: number, service?: RunningProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    checkAlive(service);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

/**
 * Registers users 1..count through the API before a measurement starts, `batch` at a time; users up to
 * `withPassword` get `password` (so they can log in).
 */
export async function registerUsers(
  url: string,
  count: number,
  options: { password?: string; withPassword?: number; batch?: number } = {},
): Promise<void> {
  const batch = options.batch ?? 100;
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, i) => {
        const id = start + i + 1;
        const password = id <= (options.withPassword ?? 0) ? { password: options.password } : {};
        const response = await fetch(`${url}/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, name: `bench user ${id}`, gender: 'x', score: 1, ...password }),
        });
        if (response.status !== 201) throw new Error(`preparing user ${id}: ${response.status}`);
      }),
    );
  }
}
