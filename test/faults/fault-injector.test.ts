import { describe, expect, it } from 'vitest';
import { parseFaultSpec } from '../../src/config/fault-plan.js';
import type { BranchRef } from '../../src/domain/branch.js';
import { TransientFailure } from '../../src/domain/errors.js';
import type { UserService } from '../../src/domain/user-service.js';
import {
  createFaultInjector,
  type FaultPoint,
  noFaults,
  seededRandom,
} from '../../src/faults/fault-injector.js';
import { withUserFaults } from '../../src/faults/fault-wrappers.js';

function injector(spec: string, seed = 7, exits: FaultPoint[] = []) {
  const rules = parseFaultSpec(spec);
  if (typeof rules === 'string') throw new Error(rules);
  return createFaultInjector({ rules, seed }, { exit: (point) => exits.push(point) });
}

/** Which of `hits` calls at `point` threw a transient failure. */
async function failures(spec: string, seed: number, hits = 200, point: FaultPoint = 'user.saveUser') {
  const faults = injector(spec, seed);
  const failed: number[] = [];
  for (let hit = 1; hit <= hits; hit++) {
    try {
      await faults.at(point);
    } catch (error) {
      expect(error).toBeInstanceOf(TransientFailure);
      failed.push(hit);
    }
  }
  return failed;
}

describe('fault injector', () => {
  it('is a no-op, and leaves services untouched, when FAULTS is unset', async () => {
    expect(createFaultInjector(undefined)).toBe(noFaults);
    const users = {} as UserService;
    expect(withUserFaults(users, noFaults)).toBe(users);
    await expect(noFaults.at('user.saveUser')).resolves.toBeUndefined();
  });

  it('gives the same faults for the same seed, and others for another seed', async () => {
    const first = await failures('user.saveUser=transient:0.3', 1);
    expect(await failures('user.saveUser=transient:0.3', 1)).toEqual(first);
    expect(await failures('user.saveUser=transient:0.3', 2)).not.toEqual(first);
    // About 30% of 200 hits: far from 0 and from 200.
    expect(first.length).toBeGreaterThan(30);
    expect(first.length).toBeLessThan(90);
  });

  it('fires only at the points named', async () => {
    expect(await failures('score.saveUserScore=transient', 1, 20, 'user.saveUser')).toEqual([]);
    expect(await failures('user.*=transient', 1, 3, 'user.saveUser.afterCommit')).toEqual([1, 2, 3]);
  });

  it('lets `after` hits pass and fires at most `times` times', async () => {
    expect(await failures('user.saveUser=transient:after=3:times=2', 1, 10)).toEqual([4, 5]);
  });

  it('exits at the point with its probability', () => {
    const exits: FaultPoint[] = [];
    const faults = injector('saga.log.afterWrite=exit:after=1', 3, exits);
    return (async () => {
      await faults.at('saga.log.afterWrite');
      expect(exits).toEqual([]);
      await faults.at('saga.log.afterWrite');
      expect(exits).toEqual(['saga.log.afterWrite']);
    })();
  });

  it('delays the call', async () => {
    const faults = injector('user.saveUser=delay:30ms');
    const started = Date.now();
    await faults.at('user.saveUser');
    expect(Date.now() - started).toBeGreaterThanOrEqual(29);
  });

  it('wraps a service: the point before the call, afterCommit once it returned', async () => {
    const calls: string[] = [];
    const users = {
      saveUser: async () => {
        calls.push('saveUser');
        return { outcome: 'done' as const, value: { id: 1, name: 'n', gender: 'g' } };
      },
    } as unknown as UserService;
    const branch: BranchRef = { transType: 'saga', gid: 'g', branchId: '01', op: 'action' };
    const before = withUserFaults(users, injector('user.saveUser=transient'));
    await expect(
      before.saveUser(branch, { id: 1, name: 'n', gender: 'g', passwordHash: null }),
    ).rejects.toThrow(/injected fault at user.saveUser/);
    expect(calls).toEqual([]);
    const after = withUserFaults(users, injector('user.saveUser.afterCommit=transient'));
    await expect(
      after.saveUser(branch, { id: 1, name: 'n', gender: 'g', passwordHash: null }),
    ).rejects.toThrow(/afterCommit/);
    expect(calls).toEqual(['saveUser']);
  });

  it('draws numbers in [0, 1) from a seed', () => {
    const random = seededRandom(123);
    const values = Array.from({ length: 1000 }, random);
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(values).size).toBe(1000);
  });
});
