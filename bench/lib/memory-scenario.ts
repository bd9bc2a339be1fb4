// The `memory` scenario: the shipped service's memory, measured from outside as an operator would see
// it. Two processes of the monolith as `npm start` runs it (HTTP, metrics, logger, the user and score
// services in-process and over gRPC), each on a database of its own:
//   leak check  the service as shipped (NODE_ENV=production, no faults): RSS after `sampleAt` sagas
//               and after `total`, each registration a POST /register answered 201;
//   in flight   `inFlight` sagas held at once: the score branch waits `holdMs` before it runs (FAULTS, a
//               slow downstream) and REGISTER_WAIT_MS=0 answers each POST 202 at once, so a client holds
//               no connection per saga; RSS and heap are read once every saga has saved its user and waits
//               on its score, then the hold runs out and every saga must end succeeded.
// Each RSS is the process's VmRSS from /proc after a full garbage collection asked over the inspector
// protocol (the service runs with --inspect on a loopback port for that; nothing else is enabled), so a
// sample compares live memory, not where the collector happened to be; the figure before that collection
// is kept too (`…RawMb`).
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { benchDatabase } from './bench-db.js';
import { inspectProcess } from './inspector-client.js';
import { runLoad } from './measure.js';
import { rssMb } from './proc-stats.js';
import { benchNodeFlags } from './scripts.js';
import { serverCounter } from './server-counts.js';
import { freePort, JWT_SECRET, type RunningProcess, startMonolith } from './services.js';

export interface MemoryPlan {
  readonly total: number;
  readonly sampleAt: number;
  readonly inFlight: number;
  /** How long each held saga's score branch waits: longer than it takes to start them all. */
  readonly holdMs: number;
}

interface CountResult {
  readonly completed: number;
  readonly errors: number;
  readonly seconds: number;
  readonly errorSamples: string[];
}

/** User ids of the held sagas start above this (the leak check's are 1..total). */
const HELD_ID_OFFSET = 10_000_000;

/** RSS (MB) and heap (bytes) of `service` now, then after a full collection. */
async function sample(service: RunningProcess, inspector: Awaited<ReturnType<typeof inspectProcess>>) {
  const rawMb = rssMb(service.pid).current;
  await inspector.collectGarbage();
  return { rawMb, mb: rssMb(service.pid).current, heapBytes: await inspector.heapUsedBytes() };
}

function registrations(url: string, count: number, idOffset: number, concurrency: number, expect?: number) {
  return runLoad<CountResult>({
    url,
    kind: 'register',
    concurrency,
    warmupMs: 0,
    durationMs: 0,
    count,
    idOffset,
    users: 0,
    score: 5,
    jwtSecret: JWT_SECRET,
    password: '',
    ...(expect === undefined ? {} : { expectStatus: expect }),
  });
}

async function withService<T>(
  databaseUrl: string,
  options: { poolSize: number; env?: Record<string, string> },
  run: (
    service: RunningProcess,
    url: string,
    inspector: Awaited<ReturnType<typeof inspectProcess>>,
  ) => Promise<T>,
): Promise<T> {
  const inspectPort = await freePort();
  const { service, url } = await startMonolith(databaseUrl, {
    ...options,
    nodeFlags: [...benchNodeFlags(), `--inspect=127.0.0.1:${inspectPort}`],
  });
  const inspector = await inspectProcess(inspectPort);
  try {
    return await run(service, url, inspector);
  } finally {
    inspector.close();
    await service.stop();
  }
}

async function leakCheck(plan: MemoryPlan, concurrency: number, poolSize: number, databaseUrl: string) {
  return withService(databaseUrl, { poolSize }, async (service, url, inspector) => {
    const loaded = await sample(service, inspector);
    const first = await registrations(url, plan.sampleAt, 0, concurrency);
    await sleep(500);
    const atSample = await sample(service, inspector);
    const counter = await serverCounter();
    counter.start();
    const rest = await registrations(url, plan.total - plan.sampleAt, plan.sampleAt, concurrency);
    counter.stop();
    const server = await counter.counts();
    await sleep(500);
    const atTotal = await sample(service, inspector);
    return {
      total: plan.total,
      sampleAt: plan.sampleAt,
      rssLoadedMb: loaded.mb,
      rssAtSampleMb: atSample.mb,
      rssAtTotalMb: atTotal.mb,
      rssAtSampleRawMb: atSample.rawMb,
      rssAtTotalRawMb: atTotal.rawMb,
      sagasPerSec: rest.completed / rest.seconds,
      errors: first.errors + rest.errors,
      errorSamples: [...first.errorSamples, ...rest.errorSamples].slice(0, 5),
      // The redo and statements of the sagas after the first sample (server counts over that stretch).
      ...(server === undefined
        ? {}
        : {
            server,
            redoBytesPerOp: server.redoBytes / rest.completed,
            statementsPerOp: server.statements.all / rest.completed,
          }),
    };
  });
}

/** Users saved and scores saved among the held sagas: equal counts of the first and none of the second = all held. */
async function heldProgress(databaseUrl: string) {
  const connection = await mysql.createConnection({ uri: databaseUrl });
  try {
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM user WHERE id > ?) AS users, (SELECT COUNT(*) FROM user_score WHERE user_id > ?) AS scores, ' +
        "(SELECT COUNT(*) FROM saga WHERE status = 'succeeded') AS succeeded",
      [HELD_ID_OFFSET, HELD_ID_OFFSET],
    );
    const row = rows[0];
    if (!row) throw new Error('no counts');
    return { users: Number(row.users), scores: Number(row.scores), succeeded: Number(row.succeeded) };
  } finally {
    await connection.end();
  }
}

async function heldInFlight(plan: MemoryPlan, concurrency: number, poolSize: number, databaseUrl: string) {
  const env = {
    // FAULTS is refused in production; nothing else the service does changes with NODE_ENV but gRPC
    // reflection (turned off here as in production) and the generated admin token (unused).
    NODE_ENV: 'test',
    GRPC_REFLECTION: 'false',
    FAULTS: `score.saveUserScore=delay:${plan.holdMs}ms`,
    FAULTS_SEED: '1',
    REGISTER_WAIT_MS: '0',
    // The cap on sagas in flight (default 1,000) would answer 503 long before; the deadline must outlast the hold.
    MAX_SAGAS_IN_FLIGHT: String(2 * plan.inFlight),
    SAGA_TIMEOUT_MS: String(plan.holdMs + 120_000),
  };
  return withService(databaseUrl, { poolSize, env }, async (service, url, inspector) => {
    const before = await sample(service, inspector);
    const started = await registrations(url, plan.inFlight, HELD_ID_OFFSET, concurrency, 202);
    let progress = await heldProgress(databaseUrl);
    const holdEnds = Date.now() + plan.holdMs;
    // Every saga begun (answered 202) saves its user, then waits on its score: wait for the last user.
    while (progress.users < started.completed && progress.scores === 0 && Date.now() < holdEnds) {
      await sleep(200);
      progress = await heldProgress(databaseUrl);
    }
    await sleep(1_000);
    const held = await heldProgress(databaseUrl);
    const inFlight = await sample(service, inspector);
    // The hold runs out; every held saga goes on to its score and must end succeeded.
    const deadline = Date.now() + plan.holdMs + 60_000;
    let done = await heldProgress(databaseUrl);
    while (done.succeeded < started.completed && Date.now() < deadline) {
      await sleep(1_000);
      done = await heldProgress(databaseUrl);
    }
    return {
      inFlight: plan.inFlight,
      // Sagas whose user was saved and whose score waits: all of them, if the hold outlasted starting them.
      inFlightHeld: held.users - held.scores,
      inFlightStartSeconds: started.seconds,
      rssBeforeInFlightMb: before.mb,
      rssInFlightMb: inFlight.mb,
      rssInFlightRawMb: inFlight.rawMb,
      heapPerSagaKb: (inFlight.heapBytes - before.heapBytes) / plan.inFlight / 1024,
      peakRssMb: rssMb(service.pid).peak,
      inFlightSucceeded: done.succeeded,
      inFlightErrors: started.errors,
      inFlightErrorSamples: started.errorSamples,
    };
  });
}

export async function memoryThroughService(
  plan: MemoryPlan,
  options: { readonly concurrency: number; readonly poolSize: number; readonly databaseName: string },
) {
  const sets = ['user', 'score', 'barrier', 'saga'] as const;
  const leakDb = await benchDatabase(`${options.databaseName}_leak`, sets);
  const leak = await leakCheck(plan, options.concurrency, options.poolSize, leakDb.url).finally(() =>
    leakDb.drop(),
  );
  const heldDb = await benchDatabase(`${options.databaseName}_held`, sets);
  const held = await heldInFlight(plan, options.concurrency, options.poolSize, heldDb.url).finally(() =>
    heldDb.drop(),
  );
  return { ...leak, ...held };
}
