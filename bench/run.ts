// `npm run bench`: every scenario against one database server, in one run, so ratios compare like
// with like. See README (Performance) and bench/NOTES.md.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { MigrationSetName } from '../src/db/migration-sets.js';
import { benchDatabase, countRows } from './lib/bench-db.js';
import type { LoopResult } from './lib/closed-loop.js';
import { describeMachine } from './lib/machine.js';
import { cpuMeter, databasePid, rssMb } from './lib/proc-stats.js';
import { benchScript, loaderFlags, resultsDir } from './lib/scripts.js';
import {
  freePort,
  JWT_SECRET,
  ROOT,
  type RunningProcess,
  registerUsers,
  startService,
  waitForHttp,
  waitForPort,
} from './lib/services.js';
import { runWorker } from './lib/spawn-worker.js';
import type { LoadArgs } from './load.js';

const ALL = ['baseline', 'log-floor', 'engine', 'http', 'split', 'abort', 'read', 'login', 'memory'] as const;
type Scenario = (typeof ALL)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    scenarios: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'pool-size': { type: 'string', default: '16' },
  },
});
const quick = values.quick === true;
const concurrency = Number(values.concurrency);
const poolSize = Number(values['pool-size']);
const durationMs = 1000 * Number(values.duration ?? (quick ? 5 : 20));
const warmupMs = 1000 * Number(values.warmup ?? (quick ? 2 : 5));
const chosen = (values.scenarios?.split(',') ?? ALL.filter((s) => !(quick && s === 'memory'))) as Scenario[];
for (const scenario of chosen) {
  if (!ALL.includes(scenario)) {
    console.error(`unknown scenario "${scenario}"; known: ${ALL.join(', ')}`);
    process.exit(2);
  }
}
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error('--concurrency expects a positive integer');
  process.exit(2);
}

interface Row extends Partial<LoopResult> {
  scenario: string;
  cpuSeconds?: number;
  cpuMsPerOp?: number;
  peakRssMb?: number;
  ratio?: number | null;
  ratioTo?: string;
  notes?: string;
  [key: string]: unknown;
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const tag = `bench_${Date.now().toString(36)}`;
const loop = { concurrency, warmupMs, durationMs, poolSize };

async function freshDatabase(name: string, sets: MigrationSetName[] = ['user', 'score', 'barrier', 'saga']) {
  return benchDatabase(`${tag}_${name}`, sets);
}

function runLoad(args: Omit<LoadArgs, 'concurrency' | 'warmupMs' | 'durationMs'> & Partial<LoadArgs>) {
  return new Promise<LoopResult>((resolve, reject) => {
    const child = fork(
      benchScript('load'),
      [JSON.stringify({ concurrency, warmupMs, durationMs, ...args })],
      { cwd: ROOT, execArgv: [...loaderFlags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let done = false;
    child.on('message', (message: { result: LoopResult }) => {
      done = true;
      resolve(message.result);
    });
    child.on('exit', (code) => {
      if (!done) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

/** `POST /register` without a password (hashing is measured by `login`), as http and split send it. */
function registrationLoad(url: string) {
  return runLoad({
    url,
    kind: 'register',
    idOffset: 0,
    users: 0,
    score: 5,
    jwtSecret: JWT_SECRET,
    password: '',
  });
}

const dbPid = databasePid();

/** An in-process scenario in its own process; the database server's CPU metered over its window. */
async function inWorker(scenario: string, databaseUrl: string): Promise<Row> {
  const meter = cpuMeter(dbPid === undefined ? [] : [dbPid]);
  let dbCpuSeconds = 0;
  const result = await runWorker<Row>({ scenario, databaseUrl, ...loop }, [], (phase) => {
    if (phase === 'start') meter.start();
    else dbCpuSeconds = meter.stop();
  });
  return { ...result, ...(dbPid === undefined ? {} : { dbCpuSeconds }) };
}

/** An in-process scenario on a fresh database; says if any saga was left non-final. */
async function inWorkerScenario(
  scenario: string,
  sets: MigrationSetName[] | undefined,
  notes: string,
): Promise<Row[]> {
  const db = await freshDatabase(scenario, sets);
  const result = await inWorker(scenario, db.url);
  const hasSagas = sets === undefined || sets.includes('saga');
  const left = hasSagas ? await countRows(db.url, 'saga', "status NOT IN ('succeeded','aborted')") : 0;
  await db.drop();
  return [{ ...result, scenario, notes: left > 0 ? `${notes}; non-final sagas left: ${left}` : notes }];
}

/** Measures the service processes' CPU over the load's measurement window (warm-up excluded). */
async function measureServices(
  pids: number[],
  load: () => Promise<LoopResult>,
  window: { readonly warmupMs: number; readonly durationMs: number } = { warmupMs, durationMs },
): Promise<Row> {
  const meter = cpuMeter(pids);
  const dbMeter = cpuMeter(dbPid === undefined ? [] : [dbPid]);
  const started = load();
  await sleep(window.warmupMs);
  meter.start();
  dbMeter.start();
  await sleep(window.durationMs);
  const cpuSeconds = meter.stop();
  const dbCpuSeconds = dbMeter.stop();
  const result = await started;
  const peakRssMb = pids.reduce((sum, pid) => sum + rssMb(pid).peak, 0);
  return { scenario: '', ...result, cpuSeconds, peakRssMb, ...(dbPid === undefined ? {} : { dbCpuSeconds }) };
}

/** Rounds of the read scenario, and the warm-up of each after the first (the processes are warm by then). */
const READ_ROUNDS = 4;
const ROUND_WARMUP_MS = 1_000;

/**
 * One row from rounds of the same load: counts, seconds and CPU summed, peak RSS the highest, and each
 * latency percentile the median of the rounds' (percentiles of rounds cannot be merged exactly).
 */
function combineRounds(rounds: readonly Row[]): Row {
  const sum = (pick: (row: Row) => number | undefined) =>
    rounds.reduce((total, row) => total + (pick(row) ?? 0), 0);
  const median = (pick: (row: Row) => number | undefined) => {
    const values = rounds.map((row) => pick(row) ?? 0).sort((a, b) => a - b);
    const middle = values.length >> 1;
    return values.length % 2
      ? (values[middle] ?? 0)
      : ((values[middle - 1] ?? 0) + (values[middle] ?? 0)) / 2;
  };
  const completed = sum((row) => row.completed);
  const seconds = sum((row) => row.seconds);
  const first = rounds[0] as Row;
  return {
    ...first,
    completed,
    seconds,
    completedPerSec: seconds > 0 ? completed / seconds : 0,
    errors: sum((row) => row.errors),
    p50Ms: median((row) => row.p50Ms),
    p90Ms: median((row) => row.p90Ms),
    p99Ms: median((row) => row.p99Ms),
    maxMs: Math.max(...rounds.map((row) => row.maxMs ?? 0)),
    cpuSeconds: sum((row) => row.cpuSeconds),
    peakRssMb: Math.max(...rounds.map((row) => row.peakRssMb ?? 0)),
    ...(first.dbCpuSeconds === undefined ? {} : { dbCpuSeconds: sum((row) => row.dbCpuSeconds as number) }),
    errorSamples: rounds.flatMap((row) => (row.errorSamples as string[] | undefined) ?? []).slice(0, 5),
  };
}

async function monolith(databaseUrl: string, extra: Record<string, string> = {}) {
  const port = await freePort();
  const service = startService({
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    USER_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
    SCORE_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
    DB_POOL_SIZE: String(poolSize),
    ...extra,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, service);
  return { service, url };
}

async function stopAll(processes: RunningProcess[]) {
  await Promise.all(processes.map((process) => process.stop()));
}

const scenarios: Record<Scenario, () => Promise<Row[]>> = {
  baseline: () =>
    inWorkerScenario(
      'baseline',
      ['user', 'score', 'barrier'],
      'two branch transactions (barrier + row) over mysql2, no coordinator',
    ),
  'log-floor': () =>
    inWorkerScenario(
      'log-floor',
      undefined,
      'baseline plus the saga row written before and after (no actor, no coordinator): the floor for the engine',
    ),
  engine: () => inWorkerScenario('engine', undefined, 'register sagas in-process, no HTTP'),
  abort: () =>
    inWorkerScenario('abort', undefined, 'score 10: saveUser, refused saveUserScore, both compensations'),
  async http() {
    const db = await freshDatabase('http');
    const { service, url } = await monolith(db.url);
    const row = await measureServices([service.pid], () => registrationLoad(url));
    await stopAll([service]);
    await db.drop();
    return [
      { ...row, scenario: 'http', notes: 'POST /register (no password) to the monolith over loopback' },
    ];
  },
  async split() {
    const [users, scores, saga] = await Promise.all([
      freshDatabase('split_user', ['user', 'barrier']),
      freshDatabase('split_score', ['score', 'barrier']),
      freshDatabase('split_saga', ['saga']),
    ]);
    const userPort = await freePort();
    const scorePort = await freePort();
    const common = { DB_POOL_SIZE: String(poolSize) };
    const userService = startService({
      ...common,
      ROLES: 'user',
      USER_DATABASE_URL: users.url,
      USER_GRPC_ADDR: `127.0.0.1:${userPort}`,
    });
    const scoreService = startService({
      ...common,
      ROLES: 'score',
      SCORE_DATABASE_URL: scores.url,
      SCORE_GRPC_ADDR: `127.0.0.1:${scorePort}`,
    });
    await Promise.all([waitForPort(userPort, userService), waitForPort(scorePort, scoreService)]);
    const port = await freePort();
    const api = startService({
      ...common,
      ROLES: 'api',
      PORT: String(port),
      SAGA_DATABASE_URL: saga.url,
      USER_SERVICE: `grpc://127.0.0.1:${userPort}`,
      SCORE_SERVICE: `grpc://127.0.0.1:${scorePort}`,
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/readyz`, api);
    const processes = [api, userService, scoreService];
    const row = await measureServices(
      processes.map((p) => p.pid),
      () => registrationLoad(url),
    );
    await stopAll(processes);
    await Promise.all([users.drop(), scores.drop(), saga.drop()]);
    return [
      {
        ...row,
        scenario: 'split',
        notes:
          'the same against api + user + score processes over gRPC, a database each (CPU and RSS summed)',
      },
    ];
  },
  async read() {
    const db = await freshDatabase('read');
    const { service, url } = await monolith(db.url);
    const users = 1000;
    // The users to read, registered through the API before the clock starts.
    await registerUsers(url, users);
    const args = {
      url,
      kind: 'read' as const,
      idOffset: 0,
      users,
      score: 0,
      jwtSecret: JWT_SECRET,
      password: '',
    };
    const barePort = await freePort();
    const bare = startService({ PORT: String(barePort) }, benchScript('bare-jwt-server'));
    const bareUrl = `http://127.0.0.1:${barePort}`;
    await waitForPort(barePort, bare);
    // Both servers up, the load alternating between them in rounds: this machine's speed drifts by
    // half within minutes (bench/NOTES.md), and a ratio of two runs minutes apart measured the drift.
    const rounds = quick ? 2 : READ_ROUNDS;
    const cachedRounds: Row[] = [];
    const bareRounds: Row[] = [];
    for (let round = 0; round < rounds; round++) {
      const window = { warmupMs: round === 0 ? warmupMs : ROUND_WARMUP_MS, durationMs: durationMs / rounds };
      cachedRounds.push(await measureServices([service.pid], () => runLoad({ ...args, ...window }), window));
      bareRounds.push(
        await measureServices([bare.pid], () => runLoad({ ...args, url: bareUrl, ...window }), window),
      );
    }
    await stopAll([service, bare]);
    await db.drop();
    const perRound = cachedRounds.map((row, i) =>
      ((row.completedPerSec ?? 0) / (bareRounds[i]?.completedPerSec ?? 1)).toFixed(2),
    );
    return [
      {
        ...combineRounds(bareRounds),
        scenario: 'read-bare',
        notes: `a fastify route that only verifies the JWT (the yardstick for read); ${rounds} rounds alternating with read`,
      },
      {
        ...combineRounds(cachedRounds),
        scenario: 'read',
        notes: `GET /user with a valid token, 1000 users, cached; ratio per round: ${perRound.join(', ')}`,
      },
    ];
  },
  async login() {
    const db = await freshDatabase('login');
    const password = 'bench password 123';
    // Logins are limited per id and per client by default; the bench measures hashing, not the limiter.
    const { service, url } = await monolith(db.url, {
      LOGIN_RATE_MAX: '1000000',
      LOGIN_IP_RATE_MAX: '1000000',
    });
    const users = 64;
    await registerUsers(url, users, { password, withPassword: users });
    // Hashing is CPU work: more logins in flight than cores only queue. Twice the cores keeps them busy.
    const loginConcurrency = 2 * cpus().length;
    const row = await measureServices([service.pid], () =>
      runLoad({
        url,
        kind: 'login',
        idOffset: 0,
        users,
        score: 0,
        jwtSecret: JWT_SECRET,
        password,
        concurrency: loginConcurrency,
      }),
    );
    await stopAll([service]);
    await db.drop();
    return [
      {
        ...row,
        scenario: 'login',
        notes: 'POST /login with the shipped scrypt parameters (slow on purpose); no ratio',
      },
    ];
  },
  async memory() {
    const db = await freshDatabase('memory');
    const plan = quick
      ? { total: 20_000, sampleAt: 2_000, inFlight: 2_000 }
      : { total: 100_000, sampleAt: 10_000, inFlight: 10_000 };
    const result = await runWorker<Record<string, number>>(
      { scenario: 'memory', databaseUrl: db.url, ...loop, memory: plan },
      ['--expose-gc'],
    );
    await db.drop();
    const growth = (result.rssAtTotalMb ?? 0) / (result.rssAtSampleMb ?? 1) - 1;
    return [
      {
        scenario: 'memory',
        ...result,
        notes:
          `RSS after ${plan.total} sagas vs after ${plan.sampleAt}: ${(growth * 100).toFixed(1)}% (target ≤ 10%); ` +
          `${result.inFlightRunning} sagas in flight at once: ${fmt(result.rssInFlightMb, 0)} MB RSS (target < 300 MB)`,
      },
    ];
  },
};

function withRatios(rows: Row[]): Row[] {
  const base = rows.find((row) => row.scenario === 'baseline')?.completedPerSec;
  const bare = rows.find((row) => row.scenario === 'read-bare')?.completedPerSec;
  return rows.map((row) => {
    const cpuMsPerOp =
      row.cpuSeconds !== undefined && row.completed ? (1000 * row.cpuSeconds) / row.completed : undefined;
    let ratio: number | null = null;
    let ratioTo: string | undefined;
    if (['log-floor', 'engine', 'http', 'split', 'abort'].includes(row.scenario) && base)
      [ratio, ratioTo] = [(row.completedPerSec ?? 0) / base, 'baseline'];
    if (row.scenario === 'read' && bare) [ratio, ratioTo] = [(row.completedPerSec ?? 0) / bare, 'read-bare'];
    return {
      ...row,
      ...(cpuMsPerOp === undefined ? {} : { cpuMsPerOp }),
      ratio,
      ...(ratioTo ? { ratioTo } : {}),
    };
  });
}

const fmt = (value: number | undefined | null, digits = 1) =>
  value === undefined || value === null ? '' : value.toFixed(digits);

function printTable(rows: Row[]) {
  const header = [
    'scenario',
    'done/s',
    'ratio',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'errors',
    'CPU s',
    'CPU ms/op',
    'DB CPU ms/op',
    'peak RSS MB',
  ];
  const lines = rows
    .filter((row) => row.completedPerSec !== undefined)
    .map((row) => [
      row.scenario,
      fmt(row.completedPerSec, 0),
      row.ratio === null || row.ratio === undefined ? '' : `${row.ratio.toFixed(2)} (${row.ratioTo})`,
      fmt(row.p50Ms),
      fmt(row.p90Ms),
      fmt(row.p99Ms),
      String(row.errors ?? ''),
      fmt(row.cpuSeconds),
      fmt(row.cpuMsPerOp, 2),
      row.dbCpuSeconds !== undefined && row.completed
        ? fmt((1000 * (row.dbCpuSeconds as number)) / row.completed, 2)
        : '',
      fmt(row.peakRssMb, 0),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]?.length ?? 0)));
  const show = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(show(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(show(line));
  for (const row of rows) {
    if (row.completedPerSec === undefined) console.log(`${row.scenario}: ${JSON.stringify(row)}`);
    if (row.errorSamples?.length) console.log(`${row.scenario} errors: ${row.errorSamples.join(' | ')}`);
  }
}

const machine = await describeMachine();
console.log(
  `bench: ${chosen.join(', ')}; concurrency ${concurrency}, warm-up ${warmupMs / 1000} s, ${durationMs / 1000} s each; ` +
    `${machine.cores} cores (${machine.cpuModel}), ${machine.database.version}, commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
);
const rows: Row[] = [];
for (const scenario of chosen) {
  process.stdout.write(`  ${scenario} ... `);
  const started = Date.now();
  rows.push(...(await scenarios[scenario]()));
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
}
const results = withRatios(rows);
printTable(results);
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${stamp}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ startedAt: new Date().toISOString(), options: { quick, concurrency, warmupMs, durationMs, poolSize }, machine, results }, null, 2)}\n`,
);
console.log(`written to ${file.replace(ROOT, '')}`);
process.exit(results.some((row) => (row.errors ?? 0) > 0) ? 1 : 0);
