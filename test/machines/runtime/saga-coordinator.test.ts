import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../../src/db/saga-log.js';
import { createScoreStore } from '../../../src/db/score-store.js';
import { createUserStore } from '../../../src/db/user-store.js';
import type { BranchRef } from '../../../src/domain/branch.js';
import { TransientFailure } from '../../../src/domain/errors.js';
import type { SagaLog } from '../../../src/domain/saga.js';
import { createScoreService } from '../../../src/domain/score-service.js';
import { createSecretBox } from '../../../src/domain/secret-box.js';
import { createUserService } from '../../../src/domain/user-service.js';
import {
  type RegisterInput,
  type RegisterServices,
  registerSaga,
} from '../../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../../src/machines/runtime/saga-coordinator.js';
import { controlledServices } from '../../helpers/controlled-services.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';

const transient = () => new TransientFailure('unavailable', 'service down');

let database: TestDatabase;
const coordinators: SagaCoordinator[] = [];
let nextId = 1;

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

async function coordinator(
  services: RegisterServices,
  options: { log?: SagaLog; leaseMs?: number; owner?: string; timeoutMs?: number } = {},
) {
  const instance = new SagaCoordinator({
    log: options.log ?? createSagaLog(database.db),
    leaseMs: options.leaseMs ?? 5_000,
    recoveryIntervalMs: 100,
    timeoutMs: options.timeoutMs ?? 30_000,
    policy: { baseMs: 10, factor: 2, maxMs: 50 },
    alertRetryLimit: 5,
    ...(options.owner ? { owner: options.owner } : {}),
  });
  instance.define(registerSaga, services);
  coordinators.push(instance);
  await instance.start();
  return instance;
}

function registration(score = 1): { gid: string; input: RegisterInput } {
  const id = nextId++;
  return {
    gid: `gid-${id}-${Math.random().toString(36).slice(2, 8)}`,
    input: { user: { id, name: `user ${id}`, gender: 'x' }, score, sealedPasswordHash: null },
  };
}

async function sagaRow(gid: string) {
  const rows = await queryOnce(database.url, 'SELECT status, state, owner FROM saga WHERE gid = ?', [gid]);
  return rows[0];
}

async function counts(id: number) {
  const [users] = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM user WHERE id = ?', [id]);
  const [scores] = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?', [
    id,
  ]);
  return { users: Number(users?.n), scores: Number(scores?.n) };
}

async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await sleep(50);
  }
}

describe('SagaCoordinator', () => {
  it('runs a registration to succeeded with both rows written and the log final', async () => {
    const saga = await coordinator(realServices());
    const { gid, input } = registration();
    const started = await saga.begin('register', gid, input);
    expect(started.created).toBe(true);
    const result = started.created ? await started.result : undefined;

    expect(result).toMatchObject({ status: 'succeeded', gid });
    expect(await sagaRow(gid)).toMatchObject({ status: 'succeeded', state: 'scoreSaved' });
    expect(await counts(input.user.id)).toEqual({ users: 1, scores: 1 });
  });

  it('aborts a registration with score 10 and leaves neither row', async () => {
    const saga = await coordinator(realServices());
    const { gid, input } = registration(10);
    const started = await saga.begin('register', gid, input);
    const result = started.created ? await started.result : undefined;

    expect(result).toMatchObject({ status: 'aborted', error: { code: 'score_rejected' } });
    expect(await sagaRow(gid)).toMatchObject({ status: 'aborted', state: 'aborted' });
    expect(await counts(input.user.id)).toEqual({ users: 0, scores: 0 });
  });

  it('answers exists for a gid already in the log, and starts nothing', async () => {
    const saga = await coordinator(realServices());
    const { gid, input } = registration();
    const first = await saga.begin('register', gid, input);
    if (first.created) await first.result;
    const second = await saga.begin('register', gid, { ...input, score: 99 });
    expect(second.created).toBe(false);
  });

  it('commits the saga row before the first branch is called', async () => {
    const real = realServices();
    const seen: unknown[] = [];
    const services: RegisterServices = {
      ...real,
      users: {
        ...real.users,
        async saveUser(branch, user) {
          seen.push(await sagaRow(branch.gid)); // read over another connection: only committed rows show
          return real.users.saveUser(branch, user);
        },
      },
    };
    const saga = await coordinator(services);
    const { gid, input } = registration();
    const started = await saga.begin('register', gid, input);
    if (started.created) await started.result;
    expect(seen).toEqual([expect.objectContaining({ status: 'pending', state: 'pending.calling' })]);
  });

  it('makes the decision to compensate durable before the first compensation is called', async () => {
    const real = realServices();
    const seenByCompensations: unknown[] = [];
    const services: RegisterServices = {
      ...real,
      scores: {
        ...real.scores,
        async saveUserScoreCallback(branch, target) {
          seenByCompensations.push((await sagaRow(branch.gid))?.status);
          return real.scores.saveUserScoreCallback(branch, target);
        },
      },
      users: {
        ...real.users,
        async saveUserCallback(branch, target) {
          seenByCompensations.push((await sagaRow(branch.gid))?.status);
          return real.users.saveUserCallback(branch, target);
        },
      },
    };
    const saga = await coordinator(services);
    const { gid, input } = registration(10);
    const started = await saga.begin('register', gid, input);
    if (started.created) await started.result;
    expect(seenByCompensations).toEqual(['compensating', 'compensating']);
  });

  it('hands its sagas over on a graceful stop, and another coordinator finishes them at once', async () => {
    const world = controlledServices(database);
    const held = world.hold('saveUserScore');
    const first = await coordinator(world.services);
    const { gid, input } = registration();
    await first.begin('register', gid, input);
    await eventually(
      () => sagaRow(gid),
      (row) => row?.state === 'userSaved.calling',
    );

    await first.stop(50); // the hung call does not finish within the grace period
    expect(await sagaRow(gid)).toMatchObject({ status: 'pending', owner: null });

    held.open();
    const second = await coordinator(world.services);
    const row = await eventually(
      () => sagaRow(gid),
      (value) => value?.status === 'succeeded',
    );
    expect(row).toMatchObject({ status: 'succeeded', owner: second.owner });
    // The deferred move past saveUser was written on the way out: the second process did not replay it.
    expect(world.methods(gid).filter((method) => method === 'saveUser')).toHaveLength(1);
  });

  it('writes a clean saga twice (its row, then its end) and every failure or decision at once', async () => {
    const log = createSagaLog(database.db);
    const saves: string[] = [];
    const countingLog: SagaLog = {
      ...log,
      save: (gid, lease, progress) => {
        saves.push(`${gid} ${progress.status} ${progress.state}`);
        return log.save(gid, lease, progress);
      },
    };
    const world = controlledServices(database);
    const saga = await coordinator(world.services, { log: countingLog });
    const clean = registration();
    const started = await saga.begin('register', clean.gid, clean.input);
    expect(started.created && (await started.result).status).toBe('succeeded');
    expect(saves.filter((line) => line.startsWith(clean.gid))).toEqual([`${clean.gid} succeeded scoreSaved`]);

    world.fail('saveUser', transient());
    const bumpy = registration(10);
    const second = await saga.begin('register', bumpy.gid, bumpy.input);
    expect(second.created && (await second.result).status).toBe('aborted');
    const written = saves.filter((line) => line.startsWith(bumpy.gid));
    expect(written[0]).toBe(`${bumpy.gid} pending pending.waiting`); // the failed attempt and its backoff
    expect(written.some((line) => line.includes('compensating'))).toBe(true); // the decision
    expect(written.at(-1)).toBe(`${bumpy.gid} aborted aborted`);
  });

  it('takes over a saga whose owner stopped renewing its lease, and fences the old owner out', async () => {
    const world = controlledServices(database);
    const held = world.hold('saveUserScore');
    let partitioned = false;
    const log = createSagaLog(database.db);
    // The first coordinator loses the database: everything it asks of the log fails from now on. (With
    // its recovery loop still reaching the log, it could claim its own expired saga back before the
    // second did, every time if their timers line up: a partition cuts every call.)
    const cut =
      <Args extends unknown[], Result>(call: (...args: Args) => Promise<Result>) =>
      (...args: Args) =>
        partitioned ? Promise.reject(new Error('partitioned')) : call(...args);
    const flakyLog: SagaLog = {
      ...log,
      renewLeases: cut(log.renewLeases),
      save: cut(log.save),
      claimExpired: cut(log.claimExpired),
      stillOwned: cut(log.stillOwned),
      get: cut(log.get),
    };
    const first = await coordinator(world.services, { log: flakyLog, leaseMs: 1_000 });
    const { gid, input } = registration();
    const started = await first.begin('register', gid, input);
    // The move past saveUser is written by the checkpoint within a second or two.
    expect(
      await eventually(
        () => sagaRow(gid),
        (row) => row?.state === 'userSaved.calling',
      ),
    ).toMatchObject({ state: 'userSaved.calling' });
    partitioned = true;

    const second = await coordinator(world.services, { leaseMs: 1_000 });
    held.open(); // the first coordinator's call returns now, but its writes cannot land
    const row = await eventually(
      () => sagaRow(gid),
      (value) => value?.status === 'succeeded',
    );
    expect(row).toMatchObject({ status: 'succeeded', owner: second.owner });

    partitioned = false; // the first one's pending write now reaches the database and is refused
    const result = started.created ? await started.result : undefined;
    expect(result).toEqual({ status: 'released', gid });
    expect(await sagaRow(gid)).toMatchObject({ status: 'succeeded', owner: second.owner });
  });

  it('never lets two coordinators call one saga’s branches at the same time', async () => {
    const world = controlledServices(database);
    const active = new Map<string, number>();
    let overlaps = 0;
    const slow = <A extends [BranchRef, ...unknown[]], R>(fn: (...args: A) => Promise<R>) => {
      return async (...args: A): Promise<R> => {
        const gid = args[0].gid;
        active.set(gid, (active.get(gid) ?? 0) + 1);
        if ((active.get(gid) ?? 0) > 1) overlaps++;
        try {
          await sleep(5 + Math.random() * 10);
          return await fn(...args);
        } finally {
          active.set(gid, (active.get(gid) ?? 1) - 1);
        }
      };
    };
    const services: RegisterServices = {
      ...world.services,
      users: {
        ...world.services.users,
        saveUser: slow(world.services.users.saveUser),
        saveUserCallback: slow(world.services.users.saveUserCallback),
      },
      scores: {
        ...world.services.scores,
        saveUserScore: slow(world.services.scores.saveUserScore),
        saveUserScoreCallback: slow(world.services.scores.saveUserScoreCallback),
      },
    };
    // Sagas written by a coordinator that died at once (its saveUser calls never answered): two live
    // ones race to take them.
    const deadWorld = controlledServices(database);
    const dead = await coordinator(deadWorld.services, { leaseMs: 1_000 });
    const gids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const { gid, input } = registration(i % 5 === 0 ? 10 : 1);
      gids.push(gid);
      deadWorld.hold('saveUser');
      await dead.begin('register', gid, input);
    }
    await dead.stop(0);
    await database.pool.query('UPDATE saga SET owner = ?, lease_expires_at = NOW(3) WHERE gid IN (?)', [
      'dead',
      gids,
    ]);

    await Promise.all([coordinator(services, { leaseMs: 1_000 }), coordinator(services, { leaseMs: 1_000 })]);
    const rows = await eventually(
      () => queryOnce(database.url, 'SELECT status FROM saga WHERE gid IN (?)', [gids]),
      (all) => all.every((row) => row.status === 'succeeded' || row.status === 'aborted'),
      30_000,
    );
    expect(rows.map((row) => row.status).sort()).toEqual([
      ...Array(8).fill('aborted'),
      ...Array(32).fill('succeeded'),
    ]);
    expect(overlaps).toBe(0);
  }, 60_000);

  it('retries a transient failure and records the attempts in the log', async () => {
    const world = controlledServices(database);
    world.fail('saveUser', transient(), transient());
    const saga = await coordinator(world.services);
    const { gid, input } = registration();
    const started = await saga.begin('register', gid, input);
    if (started.created) await started.result;
    const [row] = await queryOnce(database.url, 'SELECT progress, detail FROM saga WHERE gid = ?', [gid]);
    expect(JSON.parse(String(row?.progress)).steps.saveUser).toMatchObject({
      attempts: 3,
      status: 'succeeded',
    });
    // Failures keep the timeline: every attempt, in order.
    expect(
      JSON.parse(String(row?.detail)).history.map((entry: { outcome: string }) => entry.outcome),
    ).toEqual(['retrying', 'retrying', 'succeeded', 'succeeded']);
  });

  it('compensates a refused registration newest branch first', async () => {
    const world = controlledServices(database);
    const saga = await coordinator(world.services);
    const { gid, input } = registration(10);
    const started = await saga.begin('register', gid, input);
    if (started.created) await started.result;
    expect(world.methods(gid)).toEqual([
      'saveUser',
      'saveUserScore',
      'saveUserScoreCallback',
      'saveUserCallback',
    ]);
  });
});
