// The soak's load: an open loop at a fixed rate (arrivals do not wait for answers, as real users do not),
// a mix of registrations (one in five aborting), reads and logins. Reports per-minute figures over IPC.
import { Pool } from 'undici';
import { mintToken } from './lib/jwt.js';

export interface SoakLoadArgs {
  readonly url: string;
  readonly ratePerSec: number;
  readonly minutes: number;
  /** Load before the first counted minute (JIT, pools and caches warm up), reported on its own. */
  readonly warmupSeconds: number;
  readonly jwtSecret: string;
  /** Users 1..loginUsers exist with this password (logins); 1..readUsers exist (reads). */
  readonly loginUsers: number;
  readonly readUsers: number;
  readonly password: string;
  readonly idOffset: number;
  readonly maxInFlight: number;
}

export interface MinuteFigures {
  minute: number;
  completed: number;
  errors: number;
  byKind: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 by kind: a login hashes on purpose and is slower than everything else. */
  p99ByKindMs: Record<string, number>;
  errorSamples: string[];
}

const args = JSON.parse(process.argv[2] ?? '{}') as SoakLoadArgs;
const origin = new URL(args.url).origin;
const pool = new Pool(origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
const json = { 'content-type': 'application/json' };
const tokens = Array.from({ length: args.readUsers }, (_, i) => mintToken(args.jwtSecret, i + 1, 24 * 3600));

let current: {
  latencies: number[];
  byKindLatencies: Record<string, number[]>;
  completed: number;
  errors: number;
  byKind: Record<string, number>;
  samples: string[];
} = fresh();
function fresh() {
  return {
    latencies: [] as number[],
    byKindLatencies: {} as Record<string, number[]>,
    completed: 0,
    errors: 0,
    byKind: {} as Record<string, number>,
    samples: [] as string[],
  };
}

let n = 0;
let inFlight = 0;
function nextOperation(): { kind: string; run: () => Promise<void> } {
  const i = n++;
  const slot = i % 100;
  // One request in a thousand is a login: each hashes for ~0.15 s of CPU on purpose (bench: login), so
  // at the soak's rates a larger share would measure scrypt, not the service.
  if (i % 1000 === 0) {
    const id = (Math.floor(i / 1000) % args.loginUsers) + 1;
    return {
      kind: 'login',
      run: () => call('POST', '/login', [200], json, JSON.stringify({ id, password: args.password })),
    };
  }
  if (slot < 40) {
    const id = tokens.length > 0 ? i % tokens.length : 0;
    return {
      kind: 'read',
      run: () => call('GET', '/user', [200], { authorization: `Bearer ${tokens[id]}` }),
    };
  }
  const id = args.idOffset + i + 1;
  const score = slot % 5 === 0 ? 10 : 7;
  return {
    kind: score === 10 ? 'register-abort' : 'register',
    run: () =>
      call(
        'POST',
        '/register',
        score === 10 ? [422] : [201],
        json,
        JSON.stringify({ id, name: `soak ${id}`, gender: 'x', score }),
      ),
  };
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  expect: number[],
  headers: Record<string, string>,
  body?: string,
) {
  const response = await pool.request({ method, path, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.body.text();
  if (!expect.includes(response.statusCode))
    throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 160)}`);
}

function fire() {
  const { kind, run } = nextOperation();
  const bucket = current;
  if (inFlight >= args.maxInFlight) {
    bucket.errors++;
    if (bucket.samples.length < 5)
      bucket.samples.push(`more than ${args.maxInFlight} requests in flight: the service fell behind`);
    return;
  }
  inFlight++;
  const started = performance.now();
  run()
    .then(
      () => {
        bucket.completed++;
        bucket.byKind[kind] = (bucket.byKind[kind] ?? 0) + 1;
        const ms = performance.now() - started;
        bucket.latencies.push(ms);
        const forKind = bucket.byKindLatencies[kind] ?? [];
        forKind.push(ms);
        bucket.byKindLatencies[kind] = forKind;
      },
      (error: unknown) => {
        bucket.errors++;
        if (bucket.samples.length < 5)
          bucket.samples.push(error instanceof Error ? error.message : String(error));
      },
    )
    .finally(() => {
      inFlight--;
    });
}

const minutes: MinuteFigures[] = [];
const startedAt = performance.now();
let fired = 0;
const tick = setInterval(() => {
  // Catch up to the schedule: as many arrivals as the elapsed time asks for.
  const due = Math.floor(((performance.now() - startedAt) / 1000) * args.ratePerSec);
  while (fired < due) {
    fired++;
    fire();
  }
}, 5);

function figuresOf(bucket: ReturnType<typeof fresh>, minute: number): MinuteFigures {
  const sorted = bucket.latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    minute,
    completed: bucket.completed,
    errors: bucket.errors,
    byKind: bucket.byKind,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    maxMs: sorted.at(-1) ?? 0,
    p99ByKindMs: Object.fromEntries(
      Object.entries(bucket.byKindLatencies).map(([kind, list]) => {
        const ordered = list.sort((a, b) => a - b);
        return [kind, ordered[Math.min(ordered.length - 1, Math.floor(0.99 * ordered.length))] ?? 0];
      }),
    ),
    errorSamples: bucket.samples,
  };
}

if (args.warmupSeconds > 0) {
  await new Promise((resolve) => setTimeout(resolve, args.warmupSeconds * 1000));
  const warmup = current;
  current = fresh();
  process.send?.({ type: 'warmup', figures: figuresOf(warmup, 0) });
}

for (let minute = 1; minute <= args.minutes; minute++) {
  await new Promise((resolve) => setTimeout(resolve, 60_000));
  const bucket = current;
  current = fresh();
  // Requests of this minute still in flight land in its bucket; give them a moment.
  await new Promise((resolve) => setTimeout(resolve, minute === args.minutes ? 5_000 : 0));
  const figures = figuresOf(bucket, minute);
  minutes.push(figures);
  process.send?.({ type: 'minute', figures });
  if (minute === args.minutes) clearInterval(tick);
}
await pool.close();
process.send?.({ type: 'done', minutes });
process.disconnect?.();
