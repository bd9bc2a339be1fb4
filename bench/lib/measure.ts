// What a scenario's measurement window records, shared by `npm run bench` (bench/run.ts) and the
// experiments (bench/experiments/): the load in its own process, the CPU of the processes under test and
// of the database server, and the redo and statements the server wrote and ran, all over the same window.
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadArgs } from '../load.js';
import type { LoopResult } from './closed-loop.js';
import { cpuMeter, databasePid, rssMb } from './proc-stats.js';
import { benchScript, loaderFlags } from './scripts.js';
import { addCounts, type ServerCounts, serverCounter } from './server-counts.js';
import { ROOT } from './services.js';
import { runWorker } from './spawn-worker.js';

/** One measurement: the load runs `warmupMs` unmeasured, then `durationMs` measured. */
export interface Window {
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** A scenario's figures over its window (the loop's counts, CPU, RSS, the server's redo and statements). */
export interface Row extends Partial<LoopResult> {
  scenario: string;
  cpuSeconds?: number;
  cpuMsPerOp?: number;
  dbCpuSeconds?: number;
  peakRssMb?: number;
  /** What the database server did over the window: redo bytes, statements (lib/server-counts.ts). */
  server?: ServerCounts;
  redoBytesPerOp?: number;
  statementsPerOp?: number;
  ratio?: number | null;
  ratioTo?: string;
  notes?: string;
  [key: string]: unknown;
}

/** The database server's process when it runs on this machine: its CPU is metered too. */
export const dbPid = databasePid();

/** The HTTP load generator (bench/load.ts) in a process of its own (T: a counted load's result). */
export function runLoad<T = LoopResult>(args: LoadArgs): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(benchScript('load'), [JSON.stringify(args)], {
      cwd: ROOT,
      execArgv: [...loaderFlags],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let done = false;
    child.on('message', (message: { result: T }) => {
      done = true;
      resolve(message.result);
    });
    child.on('exit', (code) => {
      if (!done) reject(new Error(`load generator exited with ${code}`));
    });
  });
}

/**
 * Measures the service processes' CPU (and the database's CPU, redo and statements) over the load's measurement
 * window, warm-up excluded.
 */
export async function measureServices(
  pids: readonly number[],
  load: () => Promise<LoopResult>,
  window: Window,
): Promise<Row> {
  const meter = cpuMeter(pids);
  const dbMeter = cpuMeter(dbPid === undefined ? [] : [dbPid]);
  const counter = await serverCounter();
  const started = load();
  await sleep(window.warmupMs);
  meter.start();
  dbMeter.start();
  counter.start();
  await sleep(window.durationMs);
  const cpuSeconds = meter.stop();
  const dbCpuSeconds = dbMeter.stop();
  counter.stop();
  let result: LoopResult;
  let server: ServerCounts | undefined;
  try {
    result = await started;
  } finally {
    server = await counter.counts();
  }
  const peakRssMb = pids.reduce((sum, pid) => sum + rssMb(pid).peak, 0);
  return {
    scenario: '',
    ...result,
    cpuSeconds,
    peakRssMb,
    ...(dbPid === undefined ? {} : { dbCpuSeconds }),
    ...(server === undefined ? {} : { server }),
  };
}

/**
 * An in-process scenario of bench/worker.ts in its own process, the database server's CPU, redo and
 * statements metered over the window the worker reports. `serviceFlags`: the Node flags of the process under test
 * (default: the service's, bench/lib/scripts.ts).
 */
export async function inWorker(
  args: object,
  options: { readonly nodeFlags?: readonly string[]; readonly serviceFlags?: readonly string[] } = {},
): Promise<Row> {
  const meter = cpuMeter(dbPid === undefined ? [] : [dbPid]);
  const counter = await serverCounter();
  let dbCpuSeconds = 0;
  let result: Row;
  let server: ServerCounts | undefined;
  try {
    result = await runWorker<Row>(args, {
      ...options,
      onPhase: (phase) => {
        if (phase === 'start') {
          meter.start();
          counter.start();
        } else {
          dbCpuSeconds = meter.stop();
          counter.stop();
        }
      },
    });
  } finally {
    server = await counter.counts();
  }
  return {
    ...result,
    ...(dbPid === undefined ? {} : { dbCpuSeconds }),
    ...(server === undefined ? {} : { server }),
  };
}

/**
 * One row from rounds of the same load: counts, seconds, CPU and server counts summed, peak RSS the highest, and each
 * latency percentile the median of the rounds' (percentiles of rounds cannot be merged exactly).
 */
export function combineRounds(rounds: readonly Row[]): Row {
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
    ...(first.dbCpuSeconds === undefined ? {} : { dbCpuSeconds: sum((row) => row.dbCpuSeconds) }),
    // Only if every round could read them: a sum with a hole would understate it.
    ...(rounds.every((row) => row.server !== undefined)
      ? { server: addCounts(rounds.map((row) => row.server as ServerCounts)) }
      : {}),
    errorSamples: rounds.flatMap((row) => row.errorSamples ?? []).slice(0, 5),
    notes: [...new Set(rounds.map((row) => row.notes).filter(Boolean))].join('; '),
  };
}
