import type { BarrierOutcome, BranchRef, BranchReply } from '../../src/domain/branch.js';
import { BusinessFailure, type DomainError, TransientFailure } from '../../src/domain/errors.js';
import type { ScoreService } from '../../src/domain/score-service.js';
import type { SecretBox } from '../../src/domain/secret-box.js';
import type { StoredUser } from '../../src/domain/user.js';
import type { UserService } from '../../src/domain/user-service.js';
import type { RegisterServices } from '../../src/machines/register-saga.js';

/**
 * In-memory stand-ins for the two services, for machine tests that isolate the coordinator's logic
 * (no database). Each method can be scripted to fail its next calls; every call is recorded.
 */
export type Script = Array<DomainError | BarrierOutcome | 'hang'>;

export interface FakeWorld {
  readonly services: RegisterServices;
  readonly calls: Array<{ method: string; branch: BranchRef; arg: unknown }>;
  readonly script: Record<string, Script>;
  readonly users: Map<number, { id: number; name: string; gender: string }>;
  readonly scores: Map<number, number>;
  /** Resolves the calls parked by a 'hang' entry. */
  releaseHung(): void;
}

export const transient = () => new TransientFailure('unavailable', 'fake outage');
export const refused = () => new BusinessFailure('score_rejected', "user score can't equal 10");

const identityBox: SecretBox = {
  seal: (text) => `sealed:${text}`,
  open: (text) => text.replace(/^sealed:/, ''),
};

export function fakeWorld(): FakeWorld {
  const calls: FakeWorld['calls'] = [];
  const script: Record<string, Script> = {};
  const users = new Map<number, StoredUser>();
  const scores = new Map<number, number>();
  let hung: Array<() => void> = [];

  async function step<T>(
    method: string,
    branch: BranchRef,
    arg: unknown,
    effect: () => T,
  ): Promise<BranchReply<T>> {
    calls.push({ method, branch, arg });
    const next = script[method]?.shift();
    if (next === 'hang') await new Promise<void>((resolve) => hung.push(resolve));
    else if (typeof next === 'string') return { outcome: next, value: effect() };
    else if (next) throw next;
    return { outcome: 'done', value: effect() };
  }

  const userService: UserService = {
    saveUser: (branch, user) =>
      step('saveUser', branch, user, () => {
        users.set(user.id, { id: user.id, name: user.name, gender: user.gender, createdAt: new Date() });
        return { id: user.id, name: user.name, gender: user.gender };
      }),
    saveUserCallback: (branch, target) =>
      step('saveUserCallback', branch, target, () => {
        users.delete(target.id);
        return null;
      }),
    getUser: async (id) => users.get(id)!,
    verifyPassword: async () => false,
  };
  const scoreService: ScoreService = {
    saveUserScore: (branch, input) =>
      step('saveUserScore', branch, input, () => {
        if (input.score === 10) throw refused(); // the tutorial's rule, as the real service has it
        scores.set(input.userId, input.score);
        return input;
      }),
    saveUserScoreCallback: (branch, target) =>
      step('saveUserScoreCallback', branch, target, () => {
        scores.delete(target.userId);
        return null;
      }),
    getUserScore: async (userId) => ({ userId, score: scores.get(userId)! }),
  };
  return {
    services: { users: userService, scores: scoreService, secrets: identityBox },
    calls,
    script,
    users,
    scores,
    releaseHung() {
      const waiting = hung;
      hung = [];
      for (const resolve of waiting) resolve();
    },
  };
}
