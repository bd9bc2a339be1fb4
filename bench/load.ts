// The HTTP load generator, in its own process so it does not share a CPU queue with the service.
// Closed loop over undici keep-alive connections; result sent to the parent over IPC.
import { Pool } from 'undici';
import { runClosedLoop, runCount } from './lib/closed-loop.js';
import { mintToken } from './lib/jwt.js';

export interface LoadArgs {
  readonly url: string;
  readonly kind: 'register' | 'read' | 'login';
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** register: user ids start after this; read/login: users 1..users exist. */
  readonly idOffset: number;
  readonly users: number;
  readonly score: number;
  readonly jwtSecret: string;
  readonly password: string;
  /** Exactly this many operations instead of a timed window (warmupMs and durationMs are then ignored). */
  readonly count?: number;
  /** register: the status that counts as done (default 201, or 422 for score 10; 202 for held sagas). */
  readonly expectStatus?: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as LoadArgs;
const origin = new URL(args.url).origin;
const pool = new Pool(origin, { connections: args.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
const json = { 'content-type': 'application/json' };

async function call(
  method: 'GET' | 'POST',
  path: string,
  expect: number,
  headers: Record<string, string>,
  body?: string,
) {
  const response = await pool.request({ method, path, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.body.text();
  if (response.statusCode !== expect)
    throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 200)}`);
}

const tokens =
  args.kind === 'read' ? Array.from({ length: args.users }, (_, i) => mintToken(args.jwtSecret, i + 1)) : [];

const operation = (n: number): Promise<void> => {
  switch (args.kind) {
    case 'register': {
      const id = args.idOffset + n + 1;
      const body = JSON.stringify({
        id,
        name: `user ${id}`,
        gender: id % 2 ? 'female' : 'male',
        score: args.score,
      });
      return call('POST', '/register', args.expectStatus ?? (args.score === 10 ? 422 : 201), json, body);
    }
    case 'read':
      return call('GET', '/user', 200, { authorization: `Bearer ${tokens[n % tokens.length]}` });
    case 'login': {
      const id = (n % args.users) + 1;
      return call('POST', '/login', 200, json, JSON.stringify({ id, password: args.password }));
    }
  }
};

const result =
  args.count === undefined
    ? await runClosedLoop(
        { concurrency: args.concurrency, warmupMs: args.warmupMs, durationMs: args.durationMs },
        operation,
      )
    : await runCount(args.count, args.concurrency, operation);
await pool.close();
process.send?.({ ok: true, result });
process.disconnect?.();
