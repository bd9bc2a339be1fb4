import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserStore } from '../../src/db/user-store.js';
import type { BranchRef } from '../../src/domain/branch.js';
import { BusinessFailure, InvalidArgument, NotFound } from '../../src/domain/errors.js';
import { hashPassword } from '../../src/domain/password.js';
import { createUserService, type UserStore } from '../../src/domain/user-service.js';
import { createTestDatabase, queryOnce, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
let nextId = 1000;
const cacheOptions = { max: 100, ttlMs: 60_000 };

beforeAll(async () => {
  database = await createTestDatabase(['user', 'barrier']);
});
afterAll(async () => {
  await database?.drop();
});

const action = (gid: string): BranchRef => ({ transType: 'saga', gid, branchId: '01', op: 'action' });
const compensate = (gid: string): BranchRef => ({ transType: 'saga', gid, branchId: '01', op: 'compensate' });

/** The real store, with its reads counted (and optionally slowed) to observe the cache. */
function countingStore(delayMs = 0) {
  const store = createUserStore(database.db);
  const counts = { findById: 0 };
  const counted: UserStore = {
    ...store,
    async findById(id) {
      counts.findById++;
      const user = await store.findById(id);
      if (delayMs) await sleep(delayMs);
      return user;
    },
  };
  return { store: counted, counts };
}

describe('UserService', () => {
  it('saves a user and reads it back', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    const reply = await service.saveUser(action(`u-${id}`), { id, name: '张三', gender: 'male' });
    expect(reply).toEqual({ outcome: 'done', value: { id, name: '张三', gender: 'male' } });
    expect(await service.getUser(id)).toEqual({
      id,
      name: '张三',
      gender: 'male',
      createdAt: expect.any(Date),
    });
  });

  it('refuses a taken id as the business failure duplicate_user and leaves the first user intact', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    await service.saveUser(action(`first-${id}`), { id, name: 'first', gender: 'f' });
    const second = service.saveUser(action(`second-${id}`), { id, name: 'second', gender: 'm' });
    await expect(second).rejects.toBeInstanceOf(BusinessFailure);
    await expect(second).rejects.toMatchObject({ code: 'duplicate_user' });
    expect(await service.getUser(id)).toMatchObject({ name: 'first' });
    // The failed branch left no barrier row, so its compensation is a null one and deletes nothing.
    const undo = await service.saveUserCallback(compensate(`second-${id}`), { id });
    expect(undo.outcome).toBe('nullCompensation');
    expect(await service.getUser(id)).toMatchObject({ name: 'first' });
  });

  it('deletes the user in the compensation and never returns it from the cache afterwards', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    await service.saveUser(action(`c-${id}`), { id, name: 'cached', gender: 'x' });
    await service.getUser(id); // now cached
    const undo = await service.saveUserCallback(compensate(`c-${id}`), { id });
    expect(undo.outcome).toBe('done');
    await expect(service.getUser(id)).rejects.toMatchObject({ code: 'user_not_found' });
  });

  it('refuses an action arriving after its compensation as branch_compensated and writes nothing', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    expect((await service.saveUserCallback(compensate(`h-${id}`), { id })).outcome).toBe('nullCompensation');
    await expect(
      service.saveUser(action(`h-${id}`), { id, name: 'late', gender: 'x' }),
    ).rejects.toMatchObject({
      code: 'branch_compensated',
    });
    await expect(service.getUser(id)).rejects.toMatchObject({ code: 'user_not_found' });
  });

  it('makes one query for concurrent misses of one id', async () => {
    const { store, counts } = countingStore(20);
    const service = createUserService(store, cacheOptions);
    const id = nextId++;
    await service.saveUser(action(`m-${id}`), { id, name: 'many', gender: 'x' });
    const reads = await Promise.all(Array.from({ length: 10 }, () => service.getUser(id)));
    expect(reads.every((user) => user.name === 'many')).toBe(true);
    expect(counts.findById).toBe(1);
  });

  it('answers hits from memory, counts hits and misses, and reads an expired entry again', async () => {
    const { store, counts } = countingStore();
    const seen: string[] = [];
    const counters = {
      hit: (cache: string) => seen.push(`hit ${cache}`),
      miss: (cache: string) => seen.push(`miss ${cache}`),
    };
    const service = createUserService(store, { max: 100, ttlMs: 200 }, counters);
    const id = nextId++;
    await service.saveUser(action(`h-${id}`), { id, name: 'hit', gender: 'x' });
    for (let i = 0; i < 3; i++) expect(await service.getUser(id)).toMatchObject({ name: 'hit' });
    expect(counts.findById).toBe(1);
    expect(seen).toEqual(['miss user', 'hit user', 'hit user']);
    await sleep(250);
    expect(await service.getUser(id)).toMatchObject({ name: 'hit' });
    expect(counts.findById).toBe(2);
    expect(seen.at(-1)).toBe('miss user');
  });

  it('answers a read in flight when the compensation deleted the user with user_not_found, and caches nothing', async () => {
    const { store } = countingStore(100);
    const service = createUserService(store, cacheOptions);
    const id = nextId++;
    await service.saveUser(action(`r-${id}`), { id, name: 'racing', gender: 'x' });
    const slowRead = service.getUser(id); // reads the row, then waits 100 ms before returning it
    await sleep(30);
    await service.saveUserCallback(compensate(`r-${id}`), { id });
    // Not lru-cache's bare 'deleted' abort (a 500): the user as it is now, which is none (issue #14).
    await expect(slowRead).rejects.toMatchObject({ code: 'user_not_found' });
    await expect(service.getUser(id)).rejects.toBeInstanceOf(NotFound);
  });

  it('answers user_not_found for an id that never existed', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    await expect(service.getUser(987_654_321)).rejects.toMatchObject({ code: 'user_not_found' });
  });

  it('rejects bad input with InvalidArgument and writes nothing', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    const bad = [
      { id, name: '', gender: 'x' },
      { id, name: 'x'.repeat(65), gender: 'x' },
      { id, name: 'ok', gender: 'y'.repeat(17) },
      { id, name: 'bell\u0007', gender: 'x' },
      { id, name: '\ud800', gender: 'x' },
      { id: 0, name: 'zero', gender: 'x' },
      { id: 2 ** 53, name: 'big', gender: 'x' },
    ];
    for (const [index, user] of bad.entries()) {
      await expect(service.saveUser(action(`bad-${id}-${index}`), user)).rejects.toBeInstanceOf(
        InvalidArgument,
      );
    }
    const rows = await queryOnce(database.url, 'SELECT COUNT(*) AS n FROM barrier WHERE gid LIKE ?', [
      `bad-${id}-%`,
    ]);
    expect(rows[0]?.n).toBe(0);
  });

  it('accepts a 64-character name counted in characters, not bytes', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const id = nextId++;
    const name = `${'名'.repeat(63)}😀`;
    await service.saveUser(action(`long-${id}`), { id, name, gender: 'x' });
    expect((await service.getUser(id)).name).toBe(name);
  });

  it('verifies passwords: right one yes; wrong one, unknown id and no password all no', async () => {
    const service = createUserService(createUserStore(database.db), cacheOptions);
    const withPassword = nextId++;
    const withoutPassword = nextId++;
    await service.saveUser(action(`p-${withPassword}`), {
      id: withPassword,
      name: 'pw',
      gender: 'x',
      passwordHash: await hashPassword('correct horse'),
    });
    await service.saveUser(action(`p-${withoutPassword}`), {
      id: withoutPassword,
      name: 'nopw',
      gender: 'x',
    });

    expect(await service.verifyPassword(withPassword, 'correct horse')).toBe(true);
    expect(await service.verifyPassword(withPassword, 'wrong horse')).toBe(false);
    expect(await service.verifyPassword(withoutPassword, 'anything at all')).toBe(false);
    expect(await service.verifyPassword(123_456_789_012, 'correct horse')).toBe(false);
  });
});
