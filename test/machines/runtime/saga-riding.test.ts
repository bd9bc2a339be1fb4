import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../../src/db/saga-log.js';
import { TransientFailure } from '../../../src/domain/errors.js';
import type { SagaLog } from '../../../src/domain/saga.js';
import { type RegisterInput, registerSaga } from '../../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../../src/machines/runtime/saga-coordinator.js';
import { checkInvariant, sameDatabase } from '../../chaos/invariant.js';
import { controlledServices } from '../../helpers/controlled-services.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';
import { until } from '../../helpers/until.js';

let database: TestDatabase;
const coordinators: SagaCoordinator[] = [];
let nextId = 500;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(coordinators.splice(0).map((coordinator) => coordinator.stop(0)));
});
afterAll(async () => {
  await database?.drop();
});

/** The saga log, with every write it makes counted by kind: in a statement of its own, or riding. */
function countedLog() {
  const log = createSagaLog(database.db);
  const writes: string[] = [];
  const counted: SagaLog = {
    ...log,
    create: (saga) => {
      writes.push(`create ${saga.state}`);
      return log.create(saga);
    },
    save: (gid, lease, move) => {
      writes.push(`save ${move.state}`);
      return log.save(gid, lease, move);
    },
    createWithin: (transaction, saga) => {
      writes.push(`createWithin ${saga.state}`);
      return log.createWithin(transaction, saga);
    },
    saveWithin: (transaction, gid, lease, move) => {
      writes.push(`saveWithin ${move.state}`);
      return log.saveWithin(transaction, gid, lease, move);
    },
  };
  return { log: counted, writes };
}

/** A coordinator whose user and score services run here on the saga log's database: the log rides. */
async function ridingCoordinator(world: ReturnType<typeof controlledServices>, log: SagaLog) {
  const coordinator = new SagaCoordinator({
    log,
    leaseMs: 5_000,
    recoveryIntervalMs: 100,
    timeoutMs: 30_000,
    policy: { baseMs: 10, factor: 2, maxMs: 50 },
    alertRetryLimit: 5,
  });
  coordinator.define(registerSaga, world.services, ['users', 'scores']);
  coordinators.push(coordinator);
  await coordinator.start();
  return coordinator;
}

function registration(score = 1): { gid: string; input: RegisterInput } {
  const id = nextId++;
  return {
    gid: `ride-${id}-${Math.random().toString(36).slice(2, 8)}`,
    input: { user: { id, name: `user ${id}`, gender: 'x' }, score, sealedPasswordHash: null },
  };
}

const sagaRow = async (gid: string) =>
  (await queryOnce(database.url, 'SELECT status, state, detail FROM saga WHERE gid = ?', [gid]))[0];

describe('the saga log riding in the branch transactions', () => {
  it('writes a clean saga only inside its two branch transactions: its row with the user, its end with the score', async () => {
    const world = controlledServices(database);
    const { log, writes } = countedLog();
    const coordinator = await ridingCoordinator(world, log);
    const { gid, input } = registration();
    const scoreHeld = world.hold('saveUserScore');
    const started = await coordinator.begin('register', gid, input);
    if (!started.created) throw new Error('not created');

    // The row came with saveUser's commit, in the state saveUser's success leads to.
    const row = await until(
      () => sagaRow(gid),
      (value) => value !== undefined,
    );
    expect(row).toMatchObject({ status: 'pending', state: 'userSaved.calling', detail: null });
    expect(await queryOnce(database.url, 'SELECT 1 FROM user WHERE id = ?', [input.user.id])).toHaveLength(1);
    scoreHeld.open();

    expect(await started.result).toMatchObject({ status: 'succeeded' });
    expect(await sagaRow(gid)).toMatchObject({ status: 'succeeded', state: 'scoreSaved', detail: null });
    expect(writes).toEqual(['createWithin userSaved.calling', 'saveWithin scoreSaved']);
  });

  it('has no row while its first branch has not committed: nothing happened yet', async () => {
    const world = controlledServices(database);
    const coordinator = await ridingCoordinator(world, createSagaLog(database.db));
    const { gid, input } = registration();
    const userHeld = world.hold('saveUser');
    const started = await coordinator.begin('register', gid, input);
    await sleep(100);
    expect(await sagaRow(gid)).toBeUndefined();
    userHeld.open();
    expect(started.created && (await started.result)).toMatchObject({ status: 'succeeded' });
  });

  it('carries the decision to compensate in the first compensation, and the end in the last', async () => {
    const world = controlledServices(database);
    const { log, writes } = countedLog();
    const coordinator = await ridingCoordinator(world, log);
    const { gid, input } = registration(10);
    const started = await coordinator.begin('register', gid, input);
    expect(started.created && (await started.result)).toMatchObject({
      status: 'aborted',
      error: { code: 'score_rejected' },
    });
    // No statement of its own: every move rode a branch. (A null compensation is first tried in one
    // packet, rolled back when its barrier says null, and written again the ordinary way: its rider may
    // show twice.)
    expect(writes.filter((write) => !write.includes('Within'))).toEqual([]);
    expect([...new Set(writes)]).toEqual([
      'createWithin userSaved.calling',
      'saveWithin compensating.saveUserCallback.calling',
      'saveWithin aborted',
    ]);
    const row = await sagaRow(gid);
    expect(row).toMatchObject({ status: 'aborted', state: 'aborted' });
    // A compensated saga keeps its timeline.
    expect(JSON.parse(String(row?.detail)).history.map((entry: { step: string }) => entry.step)).toEqual([
      'saveUser',
      'saveUserScore',
      'saveUserScoreCallback',
      'saveUserCallback',
    ]);
    expect((await checkInvariant(sameDatabase(database.url))).violations).toEqual([]);
  });

  it('writes a failure in a statement of its own, creating the row if no branch has yet', async () => {
    const world = controlledServices(database);
    const { log, writes } = countedLog();
    const coordinator = await ridingCoordinator(world, log);
    world.fail('saveUser', new TransientFailure('unavailable', 'user service down'));
    const { gid, input } = registration();
    const started = await coordinator.begin('register', gid, input);
    expect(started.created && (await started.result)).toMatchObject({ status: 'succeeded' });
    expect(writes).toEqual([
      'create pending.waiting',
      'saveWithin userSaved.calling',
      'saveWithin scoreSaved',
    ]);
  });

  it('rolls a branch back when the saga lease is no longer its own: no effect under a lost lease', async () => {
    const world = controlledServices(database);
    const coordinator = await ridingCoordinator(world, createSagaLog(database.db));
    const { gid, input } = registration();
    const scoreHeld = world.hold('saveUserScore');
    const started = await coordinator.begin('register', gid, input);
    if (!started.created) throw new Error('not created');
    await until(
      () => sagaRow(gid),
      (row) => row?.state === 'userSaved.calling',
    );
    // Another process claims the saga (as recovery does: a new owner, a new generation).
    await database.pool.query(
      "UPDATE saga SET owner = 'another process', lease_generation = lease_generation + 1 WHERE gid = ?",
      [gid],
    );
    scoreHeld.open();
    expect(await started.result).toEqual({ status: 'released', gid });
    expect(
      await queryOnce(database.url, 'SELECT 1 FROM user_score WHERE user_id = ?', [input.user.id]),
    ).toHaveLength(0);
    expect(await sagaRow(gid)).toMatchObject({ status: 'pending', state: 'userSaved.calling' });
  });
});
