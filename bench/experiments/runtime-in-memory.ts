// The saga runtime's own CPU per saga, with no database and no network: the real coordinator and the
// real register saga over the real user and score services, whose stores and branch barriers are Maps,
// and a saga log that is a Map too (it serialises what it is given to JSON, as any durable log must;
// --skip-json keeps the objects as they are). The services ride the log in their branches, as the
// monolith's do (--separate-log: the log written in writes of its own, as for remote services).
// What is left is the runtime (XState actors, the coordinator, the progress writer) and the services'
// own code around their SQL. Register sagas at C = --concurrency for --sagas after --warmup, in rounds;
// prints sagas/s and CPU ms per saga (process.cpuUsage over the measured sagas).
// `npm run -s build && node dist/bench/experiments/runtime-in-memory.js [--sagas 20000] [--warmup 2000]
//   [--rounds 3] [--concurrency 32] [--skip-json] [--separate-log]`; writes bench/results/experiment-runtime-in-memory-<time>.json.
// It replaces the unkept /tmp probe behind NOTES' "0.18 ms per saga" (2026-11-26).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BranchGuard, BranchRef, BranchRider } from '../../src/domain/branch.js';
import { BusinessFailure } from '../../src/domain/errors.js';
import {
  isFinalStatus,
  type Lease,
  LeaseLost,
  type NewSaga,
  type SagaLog,
  type SagaMove,
  type SagaRecord,
} from '../../src/domain/saga.js';
import type { UserScore } from '../../src/domain/score.js';
import { createScoreService, type ScoreWrites } from '../../src/domain/score-service.js';
import { createSecretBox } from '../../src/domain/secret-box.js';
import type { NewUser, StoredUser } from '../../src/domain/user.js';
import { createUserService, type UserWrites } from '../../src/domain/user-service.js';
import { newGid } from '../../src/machines/gid.js';
import { registerSaga } from '../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../src/machines/runtime/saga-coordinator.js';
import { describeMachine } from '../lib/machine.js';
import { resultsDir } from '../lib/scripts.js';
import { JWT_SECRET } from '../lib/services.js';

const { values } = parseArgs({
  options: {
    sagas: { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    'skip-json': { type: 'boolean', default: false },
    'separate-log': { type: 'boolean', default: false },
  },
});
const serialise = values['skip-json'] !== true;
const riding = values['separate-log'] !== true;
const sagas = Number(values.sagas ?? 20_000);
const warmup = Number(values.warmup ?? 2_000);
const rounds = Number(values.rounds ?? 3);
const concurrency = Number(values.concurrency ?? 32);

/**
 * A branch barrier over a Set: the first call of an op runs its work, a repeat is a duplicate. A rider
 * (the saga log riding the branch) is written before or after the work, as db/barrier.ts does.
 */
function memoryGuard<Scope>(scope: Scope): BranchGuard<Scope> {
  const seen = new Set<string>();
  return {
    async run(branch: BranchRef, work, alongside?: BranchRider) {
      const key = `${branch.transType}/${branch.gid}/${branch.branchId}/${branch.op}`;
      if (seen.has(key)) {
        await alongside?.write(null, 'duplicate');
        return { outcome: 'duplicate' };
      }
      seen.add(key);
      if (alongside?.first) await alongside.write(null, 'done');
      const value = await work(scope);
      if (alongside && !alongside.first) await alongside.write(null, 'done');
      return { outcome: 'done', value };
    },
  };
}

function memoryServices() {
  const users = new Map<number, StoredUser & { readonly passwordHash: string | null }>();
  const scores = new Map<number, UserScore>();
  const userWrites: UserWrites = {
    async insert(user: NewUser) {
      if (users.has(user.id)) throw new BusinessFailure('duplicate_user');
      const { passwordHash = null, ...fields } = user;
      users.set(user.id, { ...fields, passwordHash, createdAt: new Date() });
    },
    async deleteById(id) {
      users.delete(id);
    },
  };
  const scoreWrites: ScoreWrites = {
    async insert(score) {
      if (scores.has(score.userId)) throw new BusinessFailure('duplicate_score');
      scores.set(score.userId, score);
    },
    async deleteByUserId(userId) {
      scores.delete(userId);
    },
  };
  const cache = { max: 1000, ttlMs: 60_000 };
  return {
    users: createUserService(
      {
        branches: memoryGuard(userWrites),
        findById: async (id) => users.get(id),
        findPasswordHash: async (id) => users.get(id)?.passwordHash,
      },
      cache,
    ),
    scores: createScoreService(
      { branches: memoryGuard(scoreWrites), findByUserId: async (userId) => scores.get(userId) },
      { rejectedValues: [10] },
      cache,
    ),
    secrets: createSecretBox(JWT_SECRET),
  };
}

/** The saga log over a Map; what the database log would send is serialised to JSON first. */
function memoryLog(): SagaLog {
  const rows = new Map<string, { record: SagaRecord; json: string }>();
  const write = (record: SagaRecord) =>
    rows.set(record.gid, {
      record,
      json: serialise ? JSON.stringify([record.input, record.progress, record.detail]) : '',
    });
  const owns = (record: SagaRecord, lease: Lease) =>
    record.owner === lease.owner && record.leaseGeneration === lease.generation;
  const create = (saga: NewSaga): 'created' | 'exists' => {
    if (rows.has(saga.gid)) return 'exists';
    const now = new Date();
    const { leaseMs, ...fields } = saga;
    write({
      ...fields,
      leaseGeneration: 1,
      leaseExpiresAt: new Date(now.getTime() + leaseMs),
      finishedAt: null,
      createdAt: now,
      updatedAt: now,
    });
    return 'created';
  };
  const save = (gid: string, lease: Lease, move: SagaMove): boolean => {
    const row = rows.get(gid);
    if (!row || !owns(row.record, lease)) return false;
    const now = new Date();
    write({ ...row.record, ...move, finishedAt: isFinalStatus(move.status) ? now : null, updatedAt: now });
    return true;
  };
  return {
    create: async (saga) => create(saga),
    save: async (gid, lease, move) => save(gid, lease, move),
    async createWithin(_transaction, saga) {
      if (create(saga) === 'exists') throw new Error(`saga ${saga.gid} exists`);
    },
    async saveWithin(_transaction, gid, lease, move) {
      if (!save(gid, lease, move)) throw new LeaseLost(gid);
    },
    get: async (gid) => rows.get(gid)?.record,
    renewLeases: async (owner) =>
      [...rows.values()].filter((row) => row.record.owner === owner && !isFinalStatus(row.record.status))
        .length,
    claimExpired: async () => [],
    release: async () => 0,
    countFinished: async () => {},
    stillOwned: async (owner, gids) => new Set(gids.filter((gid) => rows.get(gid)?.record.owner === owner)),
  };
}

async function round(): Promise<{ sagasPerSec: number; cpuMsPerSaga: number; errors: number }> {
  const coordinator = new SagaCoordinator({
    log: memoryLog(),
    leaseMs: 60_000,
    recoveryIntervalMs: 60_000,
    timeoutMs: 60_000,
    policy: { baseMs: 100, factor: 2, maxMs: 5_000 },
    alertRetryLimit: 10,
  });
  coordinator.define(registerSaga, memoryServices(), riding ? ['users', 'scores'] : []);
  await coordinator.start();
  let next = 0;
  let errors = 0;
  const run = async (until: number) => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < until) {
          const n = next++;
          const input = {
            user: { id: n + 1, name: `user ${n + 1}`, gender: 'female' },
            score: 5,
            sealedPasswordHash: null,
          };
          const begun = await coordinator.begin('register', newGid(), input);
          const result = begun.created ? await begun.result : undefined;
          if (result?.status !== 'succeeded') errors++;
        }
      }),
    );
  };
  await run(warmup);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(warmup + sagas);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await coordinator.stop(1_000);
  return { sagasPerSec: sagas / seconds, cpuMsPerSaga: (used.user + used.system) / 1000 / sagas, errors };
}

const machine = await describeMachine();
console.log(
  `runtime-in-memory: ${rounds} rounds of ${sagas} register sagas after ${warmup}, C = ${concurrency}` +
    `${serialise ? '' : ', log not serialised'}${riding ? ', log riding the branches' : ', log in writes of its own'}; ` +
    `${machine.cores} cores (${machine.cpuModel}), commit ${machine.commit}${machine.dirty ? ' (dirty)' : ''}`,
);
const results = [];
for (let i = 0; i < rounds; i++) {
  const result = await round();
  results.push(result);
  console.log(
    `  round ${i + 1}: ${result.sagasPerSec.toFixed(0)} sagas/s, ${result.cpuMsPerSaga.toFixed(3)} ms CPU per saga, ${result.errors} errors`,
  );
}
const file = join(
  resultsDir,
  `experiment-runtime-in-memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
writeFileSync(
  file,
  `${JSON.stringify({ experiment: 'runtime-in-memory', options: { sagas, warmup, rounds, concurrency, serialise, riding }, machine, results }, null, 2)}\n`,
);
console.log(`written to ${file}`);
process.exit(0);
