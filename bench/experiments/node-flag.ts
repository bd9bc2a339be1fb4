// What `--no-allocation-site-pretenuring` (src/node-flags.ts) does for the service, A/B, the yardstick
// unchanged: in each round, three processes up at once, measured one after the other in an order drawn
// from the seed:
//   read-bare     bench/bare-jwt-server.ts with the service's flags, the same process for both arms;
//   read-with     the monolith as `npm start` runs it (the flag on), 1,000 users registered through the
//                 API first (sagas, as in the bench's `read`), then GET /user at C = --concurrency;
//   read-without  the same without the flag.
// With --engine, two more measurements per round: bench/worker.ts's `engine` scenario (register sagas
// in-process) with and without the flag, each on a fresh database. With --gc, the two service arms run
// with --trace-gc-nvp and the young collections of each window are summed (promoted bytes and pause per
// scavenge, mark-compacts): tracing costs time, so read throughput from the figures without it.
// Throughput is summed over the rounds, as the bench does; each round's ratio is printed and stored.
// `npm run -s build && node dist/bench/experiments/node-flag.js [--seconds 8] [--warmup 3] [--rounds 4]
//   [--concurrency 32] [--engine] [--gc] [--seed N]`; writes bench/results/experiment-node-flag-<time>.json.
import { openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.js';
import { benchDatabase } from '../lib/bench-db.js';
import { describeMachine } from '../lib/machine.js';
import { combineRounds, inWorker, measureServices, type Row, runLoad, type Window } from '../lib/measure.js';
import { orderDrawer, parseSeed } from '../lib/order.js';
import { benchScript, resultsDir } from '../lib/scripts.js';
import {
  freePort,
  JWT_SECRET,
  type RunningProcess,
  registerUsers,
  startMonolith,
  startService,
  waitForPort,
} from '../lib/services.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    engine: { type: 'boolean', default: false },
    gc: { type: 'boolean', default: false },
    seed: { type: 'string' },
  },
});
const window: Window = {
  warmupMs: 1000 * Number(values.warmup ?? 3),
  durationMs: 1000 * Number(values.seconds ?? 8),
};
const rounds = Number(values.rounds ?? 4);
const concurrency = Number(values.concurrency ?? 32);
const poolSize = 16;
const seed = parseSeed(values.seed);
if (typeof seed === 'string') throw new Error(seed);
const FLAG = '--no-allocation-site-pretenuring';
const withFlag = [...SERVICE_NODE_FLAGS];
const withoutFlag = SERVICE_NODE_FLAGS.filter((flag) => flag !== FLAG);
const traced = (flags: readonly string[]) => (values.gc ? [...flags, '--trace-gc-nvp'] : [...flags]);
const tag = `bench_flag_${Date.now().toString(36)}`;

type Arm = 'read-bare' | 'read-with' | 'read-without' | 'engine-with' | 'engine-without';
const arms: Arm[] = ['read-bare', 'read-with', 'read-without'];
if (values.engine) arms.push('engine-with', 'engine-without');

interface GcFigures {
  scavenges: number;
  promotedBytes: number;
  scavengePauseMs: number;
  markCompacts: number;
  markCompactPauseMs: number;
}

/** The --trace-gc-nvp lines a process wrote to its log since `offset`, summed. */
function gcSince(service: RunningProcess, offset: number): GcFigures {
  const figures = {
    scavenges: 0,
    promotedBytes: 0,
    scavengePauseMs: 0,
    markCompacts: 0,
    markCompactPauseMs: 0,
  };
  const size = statSync(service.logFile).size;
  const buffer = Buffer.alloc(size - offset);
  const fd = openSync(service.logFile, 'r');
  readSync(fd, buffer, 0, buffer.length, offset);
  for (const line of buffer.toString('utf8').split('\n')) {
    const field = (name: string) => Number(new RegExp(`\\b${name}=([\\d.]+)`).exec(line)?.[1] ?? 0);
    if (/ gc=s /.test(line)) {
      figures.scavenges++;
      figures.promotedBytes += field('promoted');
      figures.scavengePauseMs += field('pause');
    } else if (/ gc=mc /.test(line)) {
      figures.markCompacts++;
      figures.markCompactPauseMs += field('pause');
    }
  }
  return figures;
}

/** A read measurement of `service`, with its GC over the same stretch when traced. */
async function measureRead(
  service: RunningProcess,
  url: string,
  users: number,
  traced: boolean,
): Promise<Row> {
  const offset = statSync(service.logFile).size;
  const row = await measureServices(
    [service.pid],
    () =>
      runLoad({
        url,
        kind: 'read',
        concurrency,
        ...window,
        idOffset: 0,
        users,
        score: 0,
        jwtSecret: JWT_SECRET,
        password: '',
      }),
    window,
  );
  // The window's collections and the warm-up's: both come after the registrations that taught V8.
  return traced ? { ...row, gc: gcSince(service, offset) } : row;
}

const draw = orderDrawer(seed);
const machine = await describeMachine();
console.log(
  `node-flag: ${arms.join(', ')}; ${rounds} rounds, warm-up ${window.warmupMs / 1000} s, ${window.durationMs / 1000} s each, ` +
    `C = ${concurrency}; seed ${seed}${values.gc ? '; --trace-gc-nvp on the service arms' : ''}; ` +
    `${machine.cores} cores (${machine.cpuModel}), commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
);
const rowsByRound: Row[][] = [];
const orders: Arm[][] = [];
for (let round = 0; round < rounds; round++) {
  const order = draw.shuffled(arms);
  orders.push(order);
  console.log(`round ${round + 1} of ${rounds}: ${order.join(', ')}`);
  const users = 1000;
  const readDbs = await Promise.all(
    ['with', 'without'].map((arm) =>
      benchDatabase(`${tag}_read_${arm}`, ['user', 'score', 'barrier', 'saga']),
    ),
  );
  const [withDb, withoutDb] = readDbs as [(typeof readDbs)[0], (typeof readDbs)[0]];
  const services = {
    with: await startMonolith(withDb.url, { poolSize, nodeFlags: traced(withFlag) }),
    without: await startMonolith(withoutDb.url, { poolSize, nodeFlags: traced(withoutFlag) }),
  };
  // The sagas that teach V8 which allocation sites live long, as before the bench's read load.
  await registerUsers(services.with.url, users);
  await registerUsers(services.without.url, users);
  const barePort = await freePort();
  const bare = startService({ PORT: String(barePort) }, benchScript('bare-jwt-server'), withFlag);
  await waitForPort(barePort, bare);
  const rows: Row[] = [];
  for (const arm of order) {
    process.stdout.write(`  ${arm} ... `);
    let row: Row;
    const gc = values.gc === true;
    if (arm === 'read-bare') row = await measureRead(bare, `http://127.0.0.1:${barePort}`, users, false);
    else if (arm === 'read-with')
      row = await measureRead(services.with.service, services.with.url, users, gc);
    else if (arm === 'read-without')
      row = await measureRead(services.without.service, services.without.url, users, gc);
    else {
      const db = await benchDatabase(`${tag}_${arm}`, ['user', 'score', 'barrier', 'saga']);
      row = await inWorker(
        { scenario: 'engine', databaseUrl: db.url, concurrency, poolSize, ...window },
        { serviceFlags: arm === 'engine-with' ? withFlag : withoutFlag },
      );
      await db.drop();
    }
    console.log(`${(row.completedPerSec ?? 0).toFixed(0)}/s`);
    rows.push({ ...row, scenario: arm });
  }
  await Promise.all([services.with.service.stop(), services.without.service.stop(), bare.stop()]);
  await Promise.all(readDbs.map((db) => db.drop()));
  rowsByRound.push(rows);
}

const of = (rows: readonly Row[], arm: Arm) => rows.find((row) => row.scenario === arm) as Row;
const rate = (row: Row) => row.completedPerSec ?? 0;
const cpuMs = (row: Row) => (1000 * (row.cpuSeconds ?? 0)) / Math.max(1, row.completed ?? 0);
const combined = arms.map((arm) => {
  const rows = rowsByRound.map((roundRows) => of(roundRows, arm));
  const row = combineRounds(rows);
  const gc = rows.every((r) => r.gc)
    ? (rows
        .map((r) => r.gc as GcFigures)
        .reduce((a, b) => ({
          scavenges: a.scavenges + b.scavenges,
          promotedBytes: a.promotedBytes + b.promotedBytes,
          scavengePauseMs: a.scavengePauseMs + b.scavengePauseMs,
          markCompacts: a.markCompacts + b.markCompacts,
          markCompactPauseMs: a.markCompactPauseMs + b.markCompactPauseMs,
        })) as GcFigures)
    : undefined;
  return { ...row, scenario: arm, cpuMsPerOp: cpuMs(row), ...(gc ? { gc } : {}) };
});
const bareRate = rate(of(combined, 'read-bare'));
console.log('| arm | done/s | vs read-bare | CPU ms/op | p50 ms | p99 ms | errors |');
console.log('|---|---|---|---|---|---|---|');
for (const row of combined) {
  const vsBare =
    row.scenario.startsWith('read-') && row.scenario !== 'read-bare' ? (rate(row) / bareRate).toFixed(2) : '';
  console.log(
    `| ${row.scenario} | ${rate(row).toFixed(0)} | ${vsBare} | ${row.cpuMsPerOp.toFixed(3)} | ${(row.p50Ms ?? 0).toFixed(1)} | ${(row.p99Ms ?? 0).toFixed(1)} | ${row.errors ?? 0} |`,
  );
}
/** without ÷ with, overall and by round: below 1, the flag helps. */
const comparisons: Record<string, { overall: number; byRound: number[] }> = {};
for (const kind of values.engine ? ['read', 'engine'] : ['read']) {
  const pair = (rows: readonly Row[]) =>
    rate(of(rows, `${kind}-without` as Arm)) / rate(of(rows, `${kind}-with` as Arm));
  comparisons[`${kind} without ÷ with`] = { overall: pair(combined), byRound: rowsByRound.map(pair) };
}
comparisons['read-with ÷ read-bare'] = {
  overall: rate(of(combined, 'read-with')) / bareRate,
  byRound: rowsByRound.map((rows) => rate(of(rows, 'read-with')) / rate(of(rows, 'read-bare'))),
};
comparisons['read-without ÷ read-bare'] = {
  overall: rate(of(combined, 'read-without')) / bareRate,
  byRound: rowsByRound.map((rows) => rate(of(rows, 'read-without')) / rate(of(rows, 'read-bare'))),
};
// CPU per operation is steadier than throughput on a machine shared with other work.
for (const kind of values.engine ? ['read', 'engine'] : ['read']) {
  const cpu = (rows: readonly Row[]) =>
    cpuMs(of(rows, `${kind}-without` as Arm)) / cpuMs(of(rows, `${kind}-with` as Arm));
  comparisons[`${kind} CPU per op, without ÷ with`] = {
    overall: cpu(combined),
    byRound: rowsByRound.map(cpu),
  };
}
for (const [name, { overall, byRound }] of Object.entries(comparisons))
  console.log(
    `${name}: ${overall.toFixed(2)} (by round ${byRound.map((value) => value.toFixed(2)).join(', ')})`,
  );
for (const row of combined) {
  const gc = row.gc as GcFigures | undefined;
  if (gc)
    console.log(
      `${row.scenario} GC: ${gc.scavenges} scavenges, ${(gc.promotedBytes / Math.max(1, gc.scavenges) / 2 ** 20).toFixed(2)} MB promoted and ` +
        `${(gc.scavengePauseMs / Math.max(1, gc.scavenges)).toFixed(2)} ms pause each; ${gc.markCompacts} mark-compacts, ` +
        `${gc.markCompactPauseMs.toFixed(0)} ms in all`,
    );
}
const file = join(resultsDir, `experiment-node-flag-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      experiment: 'node-flag',
      options: {
        ...window,
        rounds,
        concurrency,
        engine: values.engine,
        gc: values.gc,
        seed,
        withFlag,
        withoutFlag,
      },
      orders,
      machine,
      comparisons,
      results: combined,
      rounds: rowsByRound,
    },
    null,
    2,
  )}\n`,
);
console.log(`written to ${file}`);
