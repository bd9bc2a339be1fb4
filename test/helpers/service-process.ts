import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.js';
import { healthCheck } from './grpc.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

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

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  /** Everything the process wrote, for assertions and for a useful failure message. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `npm start`'s entry point, compiled (dist/src/main.js, built by global-setup.ts), as its own
 * process (as a user or CI would) and waits until
 * `readyPath` answers 200. The environment given replaces nothing else but what it names.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  options: {
    readyPath?: string;
    timeoutMs?: number;
    args?: string[];
    readyGrpc?: string;
    /** A process told to kill itself at a fault point may get there while starting: hand it back dead. */
    mayDieEarly?: boolean;
  } = {},
): Promise<ServiceProcess> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(
    process.execPath,
    [...SERVICE_NODE_FLAGS, 'dist/src/main.js', ...(options.args ?? [])],
    {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: process.env.TEST_SERVICE_LOG_LEVEL ?? 'warn',
        BARRIER_PRUNE_INTERVAL: '0',
        SAGA_PRUNE_INTERVAL: '0',
        // Every test registers from 127.0.0.1; the register limit has tests of its own that set it.
        REGISTER_RATE_MAX: '1000000',
        SERVICE_TOKEN: 'service-token-for-tests-0123456789',
        // Free ports: test files run in parallel; a test that needs a known port sets it.
        USER_GRPC_ADDR: '127.0.0.1:0',
        SCORE_GRPC_ADDR: '127.0.0.1:0',
        ...env,
        PORT: String(port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const service: ServiceProcess = {
    child,
    url,
    port,
    output: () => output,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };

  const readyPath = options.readyPath ?? '/readyz';
  let lastAnswer = 'no answer';
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (options.mayDieEarly && child.signalCode === 'SIGKILL') return service;
      throw new Error(`service exited with ${child.exitCode ?? child.signalCode} while starting:\n${output}`);
    }
    if (options.readyGrpc !== undefined) {
      // A gRPC role has no HTTP: it is ready when the standard health check says so.
      if ((await healthCheck(options.readyGrpc)) === 'SERVING') return service;
    } else {
      try {
        // A bounded wait: one hung request must not eat the whole start-up allowance.
        const response = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(2_000) });
        if (response.status === 200) return service;
        lastAnswer = `${response.status} ${await response.text()}`;
      } catch (error) {
        // not listening yet, or not answering in time
        lastAnswer =
          error instanceof Error
            ? `${error.name}: ${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`
            : String(error);
      }
    }
    await sleep(100);
  }
  await service.kill();
  throw new Error(
    `service did not become ready within the time allowed (last ${readyPath}: ${lastAnswer}):\n${output}`,
  );
}
