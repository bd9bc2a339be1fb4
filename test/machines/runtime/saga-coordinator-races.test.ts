import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSagaLog } from '../../../src/db/saga-log.js';
import { createScoreStore } from '../../../src/db/score-store.js';
import { createUserStore } from '../../../src/db/user-store.js';
import { TransientFailure } from '../../../src/domain/errors.js';
import type { SagaLog } from '../../../src/domain/saga.js';
import { createScoreService } from '../../../src/domain/score-service.js';
import { createSecretBox } from '../../../src/domain/secret-box.js';
import { createUserService } from '../../../src/domain/user-service.js';
import { registerSaga } from '../../../src/machines/register-saga.js';
import { SagaCoordinator } from '../../../src/machines/runtime/saga-coordinator.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../../helpers/database.js';

let database: TestDatabase;
let coordinator: SagaCoordinator | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await coordinator?.stop(0);
  await database?.drop();
});

describe('a saga whose create committed but whose answer was lost', () => {
  it('is resumed by its own coordinator, not left pending under a lease it keeps renewing', async () => {
    // What a database restart did in the chaos test: the INSERT committed, the connection died before
    // the answer, and the caller got a transient error.
    const real = createSagaLog(database.db);
    let loseAnswers = true;
    const log: SagaLog = {
      ...real,
      async create(saga) {
        const created = await real.create(saga);
        if (loseAnswers) throw new TransientFailure('unavailable', 'connection lost after the insert');
        return created;
      },
    };
    const cache = { max: 10, ttlMs: 60_000 };
    coordinator = new SagaCoordinator({
      log,
      leaseMs: 60_000,
      recoveryIntervalMs: 50,
      timeoutMs: 30_000,
      policy: { baseMs: 10, factor: 2, maxMs: 50 },
      alertRetryLimit: 5,
    });
    coordinator.define(registerSaga, {
      users: createUserService(createUserStore(database.db), cache),
      scores: createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache),
      secrets: createSecretBox('x'.repeat(32)),
    });
    await coordinator.start();

    const input = { user: { id: 7, name: 'lost answer', gender: 'x' }, score: 3, sealedPasswordHash: null };
    await expect(coordinator.begin(registerSaga.type, 'gid-lost-answer', input)).rejects.toThrow(
      TransientFailure,
    );
    loseAnswers = false;

    // The lease lasts a minute and is renewed all along: only the coordinator's own follow-up finishes it.
    let status: unknown;
    for (let i = 0; i < 100 && status !== 'succeeded'; i++) {
      await sleep(50);
      [{ status } = { status: undefined }] = await queryOnce(
        database.url,
        'SELECT status FROM saga WHERE gid = ?',
        ['gid-lost-answer'],
      );
    }
    expect(status).toBe('succeeded');
    const [user] = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM user WHERE id = 7');
    expect(Number(user?.n)).toBe(1);
  });
});

describe('a saga whose final state is being written when the lease check runs', () => {
  it('finishes as succeeded, not as lost to another process', async () => {
    // The final write is slow; meanwhile the heartbeat's count says we hold fewer sagas than we run and
    // stillOwned (active rows only) no longer lists this one, because its row is about to be final.
    const real = createSagaLog(database.db);
    let finalWrites = 0;
    const warnings: string[] = [];
    const log: SagaLog = {
      ...real,
      async save(gid, owner, progress) {
        if (progress.status === 'succeeded') {
          finalWrites++;
          await sleep(600);
        }
        return real.save(gid, owner, progress);
      },
      renewLeases: async (owner, leaseMs) => {
        await real.renewLeases(owner, leaseMs);
        return 0;
      },
      stillOwned: async () => new Set<string>(),
    };
    const cache = { max: 10, ttlMs: 60_000 };
    const racing = new SagaCoordinator({
      log,
      leaseMs: 1_000,
      recoveryIntervalMs: 1_000,
      timeoutMs: 30_000,
      policy: { baseMs: 10, factor: 2, maxMs: 50 },
      alertRetryLimit: 5,
      logger: { debug() {}, info() {}, warn: (_fields, message) => warnings.push(message), error() {} },
    });
    racing.define(registerSaga, {
      users: createUserService(createUserStore(database.db), cache),
      scores: createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cache),
      secrets: createSecretBox('x'.repeat(32)),
    });
    await racing.start();
    try {
      const input = { user: { id: 8, name: 'finishing', gender: 'x' }, score: 3, sealedPasswordHash: null };
      const started = await racing.begin(registerSaga.type, 'gid-finishing', input);
      if (!started.created) throw new Error('not created');
      const result = await started.result;
      expect(finalWrites).toBe(1);
      expect(result.status).toBe('succeeded');
      expect(warnings.filter((message) => message.includes('lease lost'))).toEqual([]);
    } finally {
      await racing.stop(0);
    }
  });
});
