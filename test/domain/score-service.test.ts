import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScoreStore } from '../../src/db/score-store.js';
import type { BranchRef } from '../../src/domain/branch.js';
import { BusinessFailure } from '../../src/domain/errors.js';
import { createScoreService } from '../../src/domain/score-service.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let nextId = 1;
const cacheOptions = { max: 100, ttlMs: 60_000 };

beforeAll(async () => {
  database = await createTestDatabase(['score', 'barrier']);
});
afterAll(async () => {
  await database?.drop();
});

const action = (gid: string): BranchRef => ({ transType: 'saga', gid, branchId: '02', op: 'action' });
const compensate = (gid: string): BranchRef => ({ transType: 'saga', gid, branchId: '02', op: 'compensate' });

describe('ScoreService', () => {
  it('answers a read in flight when the compensation deleted the score with score_not_found', async () => {
    const real = createScoreStore(database.db);
    // The real store, its read held back 100 ms after it has read the row.
    const slow = {
      ...real,
      findByUserId: async (userId: number) => {
        const found = await real.findByUserId(userId);
        await sleep(100);
        return found;
      },
    };
    const service = createScoreService(slow, { rejectedValues: [] }, cacheOptions);
    const userId = nextId++;
    await service.saveUserScore(action(`race-${userId}`), { userId, score: 1 });
    const slowRead = service.getUserScore(userId);
    await sleep(30);
    await service.saveUserScoreCallback(compensate(`race-${userId}`), { userId });
    await expect(slowRead).rejects.toMatchObject({ code: 'score_not_found' });
  });

  it('stores a score and reads it back', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cacheOptions);
    const userId = nextId++;
    const reply = await service.saveUserScore(action(`s-${userId}`), { userId, score: 42 });
    expect(reply).toEqual({ outcome: 'done', value: { userId, score: 42 } });
    expect(await service.getUserScore(userId)).toEqual({ userId, score: 42 });
  });

  it('refuses score 10 with score_rejected ("user score can\'t equal 10") and stores nothing, barrier included', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cacheOptions);
    const userId = nextId++;
    const attempt = service.saveUserScore(action(`ten-${userId}`), { userId, score: 10 });
    await expect(attempt).rejects.toBeInstanceOf(BusinessFailure);
    await expect(attempt).rejects.toMatchObject({
      code: 'score_rejected',
      message: "user score can't equal 10",
    });

    const scores = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM user_score WHERE user_id = ?', [
      userId,
    ]);
    const barriers = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM barrier WHERE gid = ?', [
      `ten-${userId}`,
    ]);
    expect([scores[0]?.n, barriers[0]?.n]).toEqual([0, 0]);
  });

  it('takes the rejected values from configuration', async () => {
    const service = createScoreService(
      createScoreStore(database.db),
      { rejectedValues: [7, 13] },
      cacheOptions,
    );
    const first = nextId++;
    const second = nextId++;
    await expect(
      service.saveUserScore(action(`r-${first}`), { userId: first, score: 13 }),
    ).rejects.toMatchObject({
      code: 'score_rejected',
    });
    await expect(
      service.saveUserScore(action(`r-${second}`), { userId: second, score: 10 }),
    ).resolves.toMatchObject({
      outcome: 'done',
    });
  });

  it('deletes the score by user id in the compensation and forgets it in the cache', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [10] }, cacheOptions);
    const userId = nextId++;
    await service.saveUserScore(action(`c-${userId}`), { userId, score: 5 });
    await service.getUserScore(userId);
    const undo = await service.saveUserScoreCallback(compensate(`c-${userId}`), { userId });
    expect(undo.outcome).toBe('done');
    await expect(service.getUserScore(userId)).rejects.toMatchObject({ code: 'score_not_found' });
  });

  it('refuses an action arriving after its compensation as branch_compensated and writes nothing', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [] }, cacheOptions);
    const userId = nextId++;
    const undo = await service.saveUserScoreCallback(compensate(`h-${userId}`), { userId });
    expect(undo.outcome).toBe('nullCompensation');
    await expect(service.saveUserScore(action(`h-${userId}`), { userId, score: 3 })).rejects.toMatchObject({
      code: 'branch_compensated',
    });
    await expect(service.getUserScore(userId)).rejects.toMatchObject({ code: 'score_not_found' });
  });

  it('refuses a second score for one user as duplicate_score', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [] }, cacheOptions);
    const userId = nextId++;
    await service.saveUserScore(action(`d1-${userId}`), { userId, score: 1 });
    await expect(service.saveUserScore(action(`d2-${userId}`), { userId, score: 2 })).rejects.toMatchObject({
      code: 'duplicate_score',
    });
  });

  it('rejects a score outside int32 as an invalid argument', async () => {
    const service = createScoreService(createScoreStore(database.db), { rejectedValues: [] }, cacheOptions);
    await expect(
      service.saveUserScore(action('big'), { userId: nextId++, score: 2 ** 31 }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(
      service.saveUserScore(action('frac'), { userId: nextId++, score: 1.5 }),
    ).rejects.toMatchObject({
      code: 'invalid_argument',
    });
  });
});
