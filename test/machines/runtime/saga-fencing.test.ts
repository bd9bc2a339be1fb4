import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../../src/db/saga-log.js';
import { createScoreStore } from '../../../src/db/score-store.js';
import { createUserStore } from '../../../src/db/user-store.js';
import { TransientFailure } from '../../../src/domain/errors.js';
import type { ProgressRecord, SagaLog } from '../../../src/domain/saga.js';
import { createScoreService } from '../../../src/domain/score-service.js';
import { createSecretBox } from '../../../src/domain/secret-box.js';
import { createUserService } from '../../../src/domain/user-service.js';
import { type RegisterServices, registerSaga } from '../../../src/machines/register-saga.js';
import { coordinatorOwner, SagaCoordinator } from '../../../src/machines/runtime/saga-coordinator.js';
import { checkInvariant, sameDatabase } from '../../chaos/invariant.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import { until } from '../../helpers/until.js';

let database: TestDatabase;
const coordinators: SagaCoordinator[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((coordinator) => coordinator.stop(0)));
});
afterAll(async () => {
  await database?.drop();
});

function realServices(): RegisterServices {
  const cache = { max: 100, ttlMs: 60_000 };
  return {
    users: createUserService(createUserStore(database.db), cache),
    scores: createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache),
    secrets: createSecretBox('x'.repeat(32)),
  };
}

async function startCoordinator(
  services: RegisterServices,
  options: { log?: SagaLog; timeoutMs?: number; definition?: typeof registerSaga; owner?: string } = {},
) {
  const coordinator = new SagaCoordinator({
    ...(options.owner ? { owner: options.owner } : {}),
    log: options.log ?? createSagaLog(database.db),
    leaseMs: 1_000,
    recoveryIntervalMs: 100,
    timeoutMs: options.timeoutMs ?? 30_000,
    policy: { baseMs: 10, factor: 2, maxMs: 50 },
    alertRetryLimit: 5,
  });
  coordinator.define(options.definition ?? registerSaga, services);
  coordinators.push(coordinator);
  await coordinator.start();
  return coordinator;
}

const sagaRow = async (gid: string) =>
  (await queryOnce(database.url, 'SELECT status, state, owner FROM saga WHERE gid = ?', [gid]))[0];

/** A gate a test opens: calls wait at it until then. */
function latch() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** A saga log whose calls fail while the coordinator using it is cut off from the database. */
function partitionedLog(log: SagaLog) {
  const cut = { writes: false, rest: false };
  const guard =
    <Args extends unknown[], Result>(call: (...args: Args) => Promise<Result>, part: keyof typeof cut) =>
    (...args: Args) =>
      cut[part] ? Promise.reject(new TransientFailure('unavailable', 'partitioned')) : call(...args);
  const wrapped: SagaLog = {
    create: guard(log.create, 'writes'),
    save: guard(log.save, 'writes'),
    createWithin: guard(log.createWithin, 'writes'),
    saveWithin: guard(log.saveWithin, 'writes'),
    countFinished: guard(log.countFinished, 'rest'),
    get: guard(log.get, 'rest'),
    renewLeases: guard(log.renewLeases, 'rest'),
    claimExpired: guard(log.claimExpired, 'rest'),
    release: guard(log.release, 'rest'),
    stillOwned: guard(log.stillOwned, 'rest'),
  };
  return { log: wrapped, cut };
}

describe('fencing a coordinator that claims back a saga it still holds', () => {
  it('drops the stale actor and resumes from the record, so the saga ends all-or-nothing', async () => {
    const real = realServices();
    // A: its saveUserScore commits, but the reply is held until the test lets it through.
    const replyHeld = latch();
    const servicesA: RegisterServices = {
      ...real,
      scores: {
        ...real.scores,
        async saveUserScore(branch, input, options) {
          const reply = await real.scores.saveUserScore(branch, input, options);
          await replyHeld.opened;
          return reply;
        },
      },
    };
    const a = partitionedLog(createSagaLog(database.db));
    const coordinatorA = await startCoordinator(servicesA, { log: a.log, timeoutMs: 1_500 });
    const gid = `fence-${Date.now()}`;
    const started = await coordinatorA.begin('register', gid, {
      user: { id: 71, name: 'fenced', gender: 'x' },
      score: 5,
      sealedPasswordHash: null,
    });
    expect(started.created).toBe(true);
    await until(
      () => sagaRow(gid),
      (row) => row?.state === 'userSaved.calling',
    );
    await until(
      () => queryOnce(database.url, 'SELECT 1 FROM user_score WHERE user_id = 71'),
      (rows) => rows.length === 1,
    );

    // A is cut off. B takes the saga over past its deadline: its replay of saveUserScore fails, so B
    // compensates the score, then stops while saveUserCallback is still under way.
    a.cut.writes = true;
    a.cut.rest = true;
    const neverAnswers = latch();
    const servicesB: RegisterServices = {
      ...real,
      scores: {
        ...real.scores,
        saveUserScore: () => Promise.reject(new TransientFailure('unavailable', 'score service down')),
      },
      users: {
        ...real.users,
        async saveUserCallback() {
          await neverAnswers.opened;
          throw new Error('unreachable');
        },
      },
    };
    const coordinatorB = await startCoordinator(servicesB);
    await until(
      () => sagaRow(gid),
      (row) => row?.state === 'compensating.saveUserCallback.calling' && row.owner === coordinatorB.owner,
    );
    expect(await queryOnce(database.url, 'SELECT 1 FROM user_score WHERE user_id = 71')).toHaveLength(0);
    await coordinatorB.stop(0);

    // A reaches the database again and claims the saga back before its stale actor's writes land.
    a.cut.rest = false;
    await until(
      () => sagaRow(gid),
      (row) => row?.owner === coordinatorA.owner,
    );
    a.cut.writes = false;
    replyHeld.open(); // the stale actor learns saveUserScore succeeded, long after B compensated it

    const row = await until(
      () => sagaRow(gid),
      (value) => value?.status === 'succeeded' || value?.status === 'aborted',
    );
    await sleep(300); // a stale write landing late would show here
    expect({ ...row, ...(await sagaRow(gid)) }).toMatchObject({ status: 'aborted' });
    const report = await checkInvariant(sameDatabase(database.url));
    expect(report.violations).toEqual([]);
  }, 30_000);
});

describe('claims a process cannot run', () => {
  it('leaves a saga of a version it does not have to a process that has it, at once', async () => {
    const log = createSagaLog(database.db);
    const gid = `v2-${Date.now()}`;
    const input = { user: { id: 72, name: 'next version', gender: 'x' }, score: 5, sealedPasswordHash: null };
    await log.create({
      gid,
      type: 'register',
      machineVersion: 2,
      input,
      requestFingerprint: null,
      traceContext: null,
      subject: '72',
      owner: 'a process that died',
      leaseMs: 1_000,
      status: 'pending',
      state: 'pending.calling',
      progress: {
        deadline: Date.now() + 60_000,
        results: {},
        steps: {},
        nextAttemptAt: null,
        error: null,
        lastError: null,
      } as ProgressRecord,
      detail: null,
    });
    await database.pool.query('UPDATE saga SET lease_expires_at = NOW(3) - INTERVAL 1 SECOND WHERE gid = ?', [
      gid,
    ]);

    const current = await startCoordinator(realServices());
    await sleep(800); // several recovery passes and lease renewals
    const [row] = await queryOnce(
      database.url,
      'SELECT owner, lease_expires_at IS NULL OR lease_expires_at < NOW(3) AS claimable FROM saga WHERE gid = ?',
      [gid],
    );
    expect(row?.owner).not.toBe(current.owner);
    expect(Number(row?.claimable)).toBe(1);

    // A process of the new version takes it and runs it to the end.
    const next = await startCoordinator(realServices(), { definition: { ...registerSaga, version: 2 } });
    const done = await until(
      () => sagaRow(gid),
      (value) => value?.status === 'succeeded',
    );
    expect(done?.owner).toBe(next.owner);
  }, 30_000);
});

describe('a process started again under the same COORDINATOR_ID', () => {
  it('takes a new name, so the sagas its previous life held expire and resume', async () => {
    const previous = coordinatorOwner('pod-0');
    const next = coordinatorOwner('pod-0');
    expect(previous).toMatch(/^pod-0\/\w+$/);
    expect(next).not.toBe(previous);

    const log = createSagaLog(database.db);
    const gid = `same-id-${Date.now()}`;
    const input = { user: { id: 73, name: 'same id', gender: 'x' }, score: 5, sealedPasswordHash: null };
    // What the previous life left when it was killed: a saga it held, its lease still running.
    await log.create({
      gid,
      type: 'register',
      machineVersion: registerSaga.version,
      input,
      requestFingerprint: null,
      traceContext: null,
      subject: '73',
      owner: previous,
      leaseMs: 1_000,
      status: 'pending',
      state: 'pending.calling',
      progress: { deadline: Date.now() + 60_000, results: {}, steps: {} } as ProgressRecord,
      detail: null,
    });

    // Its renewals under the new name leave the old lease alone: it expires, and the saga is resumed.
    await startCoordinator(realServices(), { owner: next });
    const done = await until(
      () => sagaRow(gid),
      (value) => value?.status === 'succeeded',
      10_000,
    );
    expect(done?.owner).toBe(next);
    const report = await checkInvariant(sameDatabase(database.url));
    expect(report.violations).toEqual([]);
  }, 30_000);
});
