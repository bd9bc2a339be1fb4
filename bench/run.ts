// `npm run bench`: every scenario against one database server, in one run, so ratios compare like
// with like. See README (Performance) and bench/NOTES.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MigrationSetName } from '../src/db/migration-sets.js';
import { benchDatabase, countRows } from './lib/bench-db.js';
import { describeMachine } from './lib/machine.js';
import { combineRounds, inWorker, measureServices, type Row, runLoad, type Window } from './lib/measure.js';
import { memoryThroughService } from './lib/memory-scenario.js';
import { orderDrawer, parseSeed } from './lib/order.js';
import { benchScript, resultsDir } from './lib/scripts.js';
import {
  freePort,
  JWT_SECRET,
  ROOT,
  type RunningProcess,
  registerUsers,
  startMonolith,
  startService,
  waitForHttp,
  waitForPort,
} from './lib/services.js';
import type { LoadArgs } from './load.js';

const ALL = [
  'baseline',
  'baseline-packed',
  'log-floor',
  'ride-floor',
  'engine',
  'http',
  'split',
  'abort',
  'read',
  'login',
  'memory',
] as const;
type Scenario = (typeof ALL)[number];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    scenarios: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'pool-size': { type: 'string', default: '16' },
    rounds: { type: 'string' },
    seed: { type: 'string' },
  },
});
const quick = values.quick === true;
const concurrency = Number(values.concurrency);
const poolSize = Number(values['pool-size']);
const durationMs = 1000 * Number(values.duration ?? (quick ? 5 : 20));
const warmupMs = 1000 * Number(values.warmup ?? (quick ? 2 : 5));
// The scenarios with a ratio run in rounds, one after the other in each round, each round getting a
// share of the duration: this machine's speed drifts by half within minutes (bench/NOTES.md), and a
// ratio of two figures measured minutes apart would measure the drift. Every round starts fresh
// processes, so each gets the full warm-up.
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
// Each round runs the scenarios in its own order, drawn from this seed (printed and stored; `--seed N`
// repeats a run's orders), so no scenario always runs first, or always right after another.
const seed = parseSeed(values.seed);
if (typeof seed === 'string') {
  console.error(seed);
  process.exit(2);
}
const chosen = (values.scenarios?.split(',') ?? ALL.filter((s) => !(quick && s === 'memory'))) as Scenario[];
for (const scenario of chosen) {
  if (!ALL.includes(scenario)) {
    console.error(`unknown scenario "${scenario}"; known: ${ALL.join(', ')}`);
    process.exit(2);
  }
}
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error('--rounds expects a positive integer');
  process.exit(2);
}
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error('--concurrency expects a positive integer');
  process.exit(2);
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const tag = `bench_${Date.now().toString(36)}`;
const fullWindow: Window = { warmupMs, durationMs };

async function freshDatabase(name: string, sets: MigrationSetName[] = ['user', 'score', 'barrier', 'saga']) {
  return benchDatabase(`${tag}_${name}`, sets);
}

function load(
  window: Window,
  args: Omit<LoadArgs, 'concurrency' | 'warmupMs' | 'durationMs'> & Partial<LoadArgs>,
) {
  return runLoad({ concurrency, ...window, ...args });
}

/** `POST /register` without a password (hashing is measured by `login`), as http and split send it. */
function registrationLoad(window: Window, url: string) {
  return load(window, {
    url,
    kind: 'register',
    idOffset: 0,
    users: 0,
    score: 5,
    jwtSecret: JWT_SECRET,
    password: '',
  });
}

/** An in-process scenario on a fresh database; says if any saga was left non-final. */
async function inWorkerScenario(
  window: Window,
  scenario: string,
  sets: MigrationSetName[] | undefined,
  notes: string,
): Promise<Row[]> {
  const db = await freshDatabase(scenario, sets);
  const result = await inWorker({ scenario, databaseUrl: db.url, concurrency, poolSize, ...window });
  const hasSagas = sets === undefined || sets.includes('saga');
  const left = hasSagas ? await countRows(db.url, 'saga', "status NOT IN ('succeeded','aborted')") : 0;
  await db.drop();
  return [{ ...result, scenario, notes: left > 0 ? `${notes}; non-final sagas left: ${left}` : notes }];
}

function monolith(databaseUrl: string, env: Record<string, string> = {}) {
  return startMonolith(databaseUrl, { poolSize, env });
}

async function stopAll(processes: RunningProcess[]) {
  await Promise.all(processes.map((process) => process.stop()));
}

/** What a round decided besides the order of the scenarios: which half of `read` goes first. */
interface RoundPlan {
  readonly order: readonly Scenario[];
  readonly readBareFirst: boolean;
}

const scenarios: Record<Scenario, (window: Window, plan: RoundPlan) => Promise<Row[]>> = {
  baseline: (window) =>
    inWorkerScenario(
      window,
      'baseline',
      ['user', 'score', 'barrier'],
      'two branch transactions (barrier + row) over mysql2, no coordinator',
    ),
  'baseline-packed': (window) =>
    inWorkerScenario(
      window,
      'baseline-packed',
      ['user', 'score', 'barrier'],
      "baseline's two transactions, each sent in one packet (multi-statement query, values bound by mysql2)",
    ),
  'log-floor': (window) =>
    inWorkerScenario(
      window,
      'log-floor',
      undefined,
      'baseline plus the saga row written before and after (no actor, no coordinator): the floor for the engine',
    ),
  'ride-floor': (window) =>
    inWorkerScenario(
      window,
      'ride-floor',
      undefined,
      "the engine's packets with no engine: each branch one packet (barrier, business row, the saga row's ride), then COMMIT",
    ),
  engine: (window) => inWorkerScenario(window, 'engine', undefined, 'register sagas in-process, no HTTP'),
  abort: (window) =>
    inWorkerScenario(
      window,
      'abort',
      undefined,
      'score 10: saveUser, refused saveUserScore, both compensations',
    ),
  async http(window) {
    const db = await freshDatabase('http');
    const { service, url } = await monolith(db.url);
    const row = await measureServices([service.pid], () => registrationLoad(window, url), window);
    await stopAll([service]);
    await db.drop();
    return [
      { ...row, scenario: 'http', notes: 'POST /register (no password) to the monolith over loopback' },
    ];
  },
  async split(window) {
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
      () => registrationLoad(window, url),
      window,
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
  async read(window, plan) {
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
    // Both servers up, measured back to back (see rounds), in the order the round drew.
    const measureCached = () => measureServices([service.pid], () => load(window, args), window);
    const measureBare = () =>
      measureServices([bare.pid], () => load(window, { ...args, url: bareUrl }), window);
    let bareRow: Row;
    let cached: Row;
    if (plan.readBareFirst) {
      bareRow = await measureBare();
      cached = await measureCached();
    } else {
      cached = await measureCached();
      bareRow = await measureBare();
    }
    await stopAll([service, bare]);
    await db.drop();
    return [
      {
        ...bareRow,
        scenario: 'read-bare',
        notes: 'a fastify route that only verifies the JWT (the yardstick for read)',
      },
      { ...cached, scenario: 'read', notes: 'GET /user with a valid token, 1000 users, cached' },
    ];
  },
  async login(window) {
    const db = await freshDatabase('login');
    const password = 'bench password 123';
    // Logins are limited per id and per client by default; the bench measures hashing, not the limiter.
    const { service, url } = await monolith(db.url, {
      LOGIN_RATE_MAX: '1000000',
      LOGIN_ID_RATE_MAX: '1000000',
      LOGIN_IP_RATE_MAX: '1000000',
    });
    const users = 64;
    await registerUsers(url, users, { password, withPassword: users });
    // Hashing is CPU work: more logins in flight than cores only queue. Twice the cores keeps them busy.
    const loginConcurrency = 2 * cpus().length;
    const row = await measureServices(
      [service.pid],
      () =>
        load(window, {
          url,
          kind: 'login',
          idOffset: 0,
          users,
          score: 0,
          jwtSecret: JWT_SECRET,
          password,
          concurrency: loginConcurrency,
        }),
      window,
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
    const plan = quick
      ? { total: 20_000, sampleAt: 2_000, inFlight: 2_000, holdMs: 30_000 }
      : { total: 100_000, sampleAt: 10_000, inFlight: 10_000, holdMs: 120_000 };
    const result = await memoryThroughService(plan, {
      concurrency,
      poolSize,
      databaseName: `${tag}_memory`,
    });
    const growth = result.rssAtTotalMb / result.rssAtSampleMb - 1;
    const held = result.inFlightHeld === plan.inFlight ? '' : ` (only ${result.inFlightHeld} held at once)`;
    return [
      {
        scenario: 'memory',
        ...result,
        notes:
          `shipped service over HTTP; RSS after a full GC: after ${plan.total} sagas vs after ${plan.sampleAt}: ` +
          `${(growth * 100).toFixed(1)}% (target ≤ 10%); ${plan.inFlight} sagas in flight at once${held}: ` +
          `${fmt(result.rssInFlightMb, 0)} MB RSS (target ≤ 250 MB; ${fmt(result.rssInFlightRawMb, 0)} MB before the GC), ` +
          `${fmt(result.heapPerSagaKb)} KB of heap each; ${result.inFlightSucceeded} of them succeeded after the hold`,
      },
    ];
  },
};

/** The scenarios an engine-like row is compared with: the ordinary baseline, and the one sending each transaction in one packet. */
const ENGINE_LIKE = ['log-floor', 'ride-floor', 'engine', 'http', 'split', 'abort'];

function withRatios(rows: Row[]): Row[] {
  const rate = (scenario: string) => rows.find((row) => row.scenario === scenario)?.completedPerSec;
  const base = rate('baseline');
  const packed = rate('baseline-packed');
  const bare = rate('read-bare');
  return rows.map((row) => {
    const perOp = (value: number | undefined) =>
      value !== undefined && row.completed ? value / row.completed : undefined;
    const cpuMsPerOp = perOp(row.cpuSeconds === undefined ? undefined : 1000 * row.cpuSeconds);
    // From the row's own counts (a row combined from rounds carries its first round's per-op figures);
    // the memory row, which has no completed count, brings its own.
    const redoBytesPerOp = perOp(row.server?.redoBytes) ?? row.redoBytesPerOp;
    const statementsPerOp = perOp(row.server?.statements.all) ?? row.statementsPerOp;
    const done = row.completedPerSec ?? 0;
    let ratio: number | null = null;
    let ratioTo: string | undefined;
    if ((ENGINE_LIKE.includes(row.scenario) || row.scenario === 'baseline-packed') && base)
      [ratio, ratioTo] = [done / base, 'baseline'];
    if (row.scenario === 'read' && bare) [ratio, ratioTo] = [done / bare, 'read-bare'];
    const ratioPacked = ENGINE_LIKE.includes(row.scenario) && packed ? done / packed : undefined;
    return {
      ...row,
      ...(cpuMsPerOp === undefined ? {} : { cpuMsPerOp }),
      ...(redoBytesPerOp === undefined ? {} : { redoBytesPerOp }),
      ...(statementsPerOp === undefined ? {} : { statementsPerOp }),
      ratio,
      ...(ratioTo ? { ratioTo } : {}),
      ...(ratioPacked === undefined ? {} : { ratioPacked }),
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
    'vs packed',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'errors',
    'CPU s',
    'CPU ms/op',
    'DB CPU ms/op',
    'stmts/op',
    'redo B/op',
    'peak RSS MB',
  ];
  const lines = rows
    .filter((row) => row.completedPerSec !== undefined)
    .map((row) => [
      row.scenario,
      fmt(row.completedPerSec, 0),
      row.ratio === null || row.ratio === undefined ? '' : `${row.ratio.toFixed(2)} (${row.ratioTo})`,
      fmt(row.ratioPacked as number | undefined, 2),
      fmt(row.p50Ms),
      fmt(row.p90Ms),
      fmt(row.p99Ms),
      String(row.errors ?? ''),
      fmt(row.cpuSeconds),
      fmt(row.cpuMsPerOp, 2),
      row.dbCpuSeconds !== undefined && row.completed
        ? fmt((1000 * row.dbCpuSeconds) / row.completed, 2)
        : '',
      fmt(row.statementsPerOp, 1),
      fmt(row.redoBytesPerOp, 0),
      fmt(row.peakRssMb, 0),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((line) => line[i]?.length ?? 0)));
  const show = (cells: string[]) => `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(show(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const line of lines) console.log(show(line));
  const list = (values: unknown) => (values as number[]).map((ratio) => ratio.toFixed(2)).join(', ');
  for (const row of rows) {
    if (row.roundRatios)
      console.log(
        `${row.scenario}: ratio by round ${list(row.roundRatios)}` +
          (row.roundRatiosPacked ? `; vs packed ${list(row.roundRatiosPacked)}` : ''),
      );
  }
  for (const row of rows) {
    if (row.scenario === 'memory') console.log(`memory: ${row.notes}`);
    else if (row.completedPerSec === undefined) console.log(`${row.scenario}: ${JSON.stringify(row)}`);
    if (row.errorSamples?.length) console.log(`${row.scenario} errors: ${row.errorSamples.join(' | ')}`);
  }
  for (const row of rows) {
    const counts = row.server?.statements;
    if (!counts || !row.completed) continue;
    const per = (value: number) => (value / (row.completed as number)).toFixed(2);
    console.log(
      `${row.scenario}: statements per op ${per(counts.all)}: INSERT ${per(counts.insert)}, UPDATE ${per(counts.update)}, ` +
        `DELETE ${per(counts.delete)}, SELECT ${per(counts.select)}, COMMIT ${per(counts.commit)}, ROLLBACK ${per(counts.rollback)}`,
    );
  }
  const redoOf = (scenario: string) => rows.find((row) => row.scenario === scenario)?.redoBytesPerOp;
  const baselineRedo = redoOf('baseline') ?? redoOf('baseline-packed');
  // Two small transactions (four rows, their index entries and undo, two commits) write a few hundred
  // bytes to a few KB of redo: far outside that, another client wrote to the server during the window.
  if (baselineRedo !== undefined && (baselineRedo < 200 || baselineRedo > 5_000))
    console.log(
      `redo: baseline wrote ${baselineRedo.toFixed(0)} bytes per registration, outside the 200 to 5,000 expected: ` +
        'was another client writing to the server?',
    );
}

async function timed(scenario: Scenario, window: Window, plan: RoundPlan): Promise<Row[]> {
  process.stdout.write(`  ${scenario} ... `);
  const started = Date.now();
  const rows = await scenarios[scenario](window, plan);
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s`);
  return rows;
}

/** Where a row goes in the table: the scenarios' own order, read's yardstick just before it. */
function tablePosition(scenario: string): number {
  return scenario === 'read-bare' ? ALL.indexOf('read') - 0.5 : ALL.indexOf(scenario as Scenario);
}

/** The rounds' rows of each scenario as one row (combineRounds), in the table's order. */
function combineRoundRows(rowsByRound: readonly Row[][]): Row[] {
  const byScenario = new Map<string, Row[]>();
  for (const rowsOfRound of rowsByRound) {
    for (const row of rowsOfRound)
      byScenario.set(row.scenario, [...(byScenario.get(row.scenario) ?? []), row]);
  }
  return [...byScenario.values()]
    .map((rowsOfScenario) =>
      rowsOfScenario.length === 1 ? (rowsOfScenario[0] as Row) : combineRounds(rowsOfScenario),
    )
    .sort((a, b) => tablePosition(a.scenario) - tablePosition(b.scenario));
}

const machine = await describeMachine();
console.log(
  `bench: ${chosen.join(', ')}; concurrency ${concurrency}, warm-up ${warmupMs / 1000} s, ${durationMs / 1000} s each` +
    `${rounds > 1 ? ` in ${rounds} rounds` : ''}; seed ${seed}; ` +
    `${machine.cores} cores (${machine.cpuModel}), ${machine.database.version}, commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
);
/** Scenarios without a ratio run once, with the whole window; the others take turns in rounds. */
const unrounded: readonly Scenario[] = ['login', 'memory'];
const roundRobin = chosen.filter((scenario) => !unrounded.includes(scenario));
const roundWindow: Window = { warmupMs, durationMs: durationMs / rounds };
const draw = orderDrawer(seed);
const plans: RoundPlan[] = Array.from({ length: roundRobin.length > 0 ? rounds : 0 }, () => ({
  order: draw.shuffled(roundRobin),
  readBareFirst: draw.coin(),
}));
const rowsByRound: Row[][] = [];
for (const [round, plan] of plans.entries()) {
  const readOrder = plan.order.includes('read')
    ? ` (read: ${plan.readBareFirst ? 'bare first' : 'bare second'})`
    : '';
  console.log(`round ${round + 1} of ${rounds}: ${plan.order.join(', ')}${readOrder}`);
  const rowsOfRound: Row[] = [];
  for (const scenario of plan.order) rowsOfRound.push(...(await timed(scenario, roundWindow, plan)));
  rowsByRound.push(withRatios(rowsOfRound));
}
const rows: Row[] = combineRoundRows(rowsByRound);
for (const scenario of chosen.filter((s) => unrounded.includes(s)))
  rows.push(...(await timed(scenario, fullWindow, { order: [scenario], readBareFirst: false })));
const results: Row[] = withRatios(rows).map((row) => {
  const ofRounds = (key: 'ratio' | 'ratioPacked') => {
    const perRound = rowsByRound.map(
      (rowsOfRound) => rowsOfRound.find((r) => r.scenario === row.scenario)?.[key],
    );
    return perRound.length > 1 && perRound.every((ratio) => typeof ratio === 'number')
      ? (perRound as number[])
      : undefined;
  };
  const roundRatios = ofRounds('ratio');
  const roundRatiosPacked = ofRounds('ratioPacked');
  return {
    ...row,
    ...(roundRatios ? { roundRatios } : {}),
    ...(roundRatiosPacked ? { roundRatiosPacked } : {}),
  };
});
printTable(results);
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `${stamp}.json`);
const options = { quick, concurrency, warmupMs, durationMs, poolSize, rounds, seed };
writeFileSync(
  file,
  `${JSON.stringify({ startedAt: new Date().toISOString(), options, roundPlans: plans, machine, results }, null, 2)}\n`,
);
console.log(`written to ${file.replace(ROOT, '')}`);
process.exit(results.some((row) => (row.errors ?? 0) > 0 || Number(row.inFlightErrors ?? 0) > 0) ? 1 : 0);
