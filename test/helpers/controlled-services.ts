import { createScoreStore } from '../../src/db/score-store.js';
import { createUserStore } from '../../src/db/user-store.js';
import type { BranchCallOptions, BranchRef } from '../../src/domain/branch.js';
import type { DomainError } from '../../src/domain/errors.js';
import { createScoreService } from '../../src/domain/score-service.js';
import { createSecretBox } from '../../src/domain/secret-box.js';
import { createUserService } from '../../src/domain/user-service.js';
import type { RegisterServices } from '../../src/machines/register-saga.js';
import type { TestDatabase } from './database.js';

type BranchMethod = 'saveUser' | 'saveUserCallback' | 'saveUserScore' | 'saveUserScoreCallback';

/** A gate a test opens: calls wait at it until then. */
export interface Latch {
  readonly opened: Promise<void>;
  open(): void;
}

export function latch(): Latch {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * The real user and score services over a test database, with a test's hand on their branch calls: it
 * can make the next calls of a method fail before they reach the database, or wait at a latch first
 * (a slow or partitioned service). Every call is recorded.
 */
export function controlledServices(database: TestDatabase, options: { rejectedScores?: number[] } = {}) {
  const cache = { max: 100, ttlMs: 60_000 };
  const users = createUserService(createUserStore(database.db), cache);
  const scores = createScoreService(
    createScoreStore(database.db),
    { rejectedValues: options.rejectedScores ?? [10] },
    cache,
  );
  const calls: Array<{ method: BranchMethod; branch: BranchRef }> = [];
  const failNext: Partial<Record<BranchMethod, DomainError[]>> = {};
  const holdNext: Partial<Record<BranchMethod, Latch[]>> = {};

  const control =
    <Arg, Result>(
      method: BranchMethod,
      call: (branch: BranchRef, arg: Arg, options?: BranchCallOptions) => Promise<Result>,
    ) =>
    async (branch: BranchRef, arg: Arg, options?: BranchCallOptions): Promise<Result> => {
      calls.push({ method, branch });
      const failure = failNext[method]?.shift();
      if (failure) throw failure;
      const held = holdNext[method]?.shift();
      if (held) await held.opened;
      return call(branch, arg, options);
    };

  const services: RegisterServices = {
    users: {
      ...users,
      saveUser: control('saveUser', users.saveUser),
      saveUserCallback: control('saveUserCallback', users.saveUserCallback),
    },
    scores: {
      ...scores,
      saveUserScore: control('saveUserScore', scores.saveUserScore),
      saveUserScoreCallback: control('saveUserScoreCallback', scores.saveUserScoreCallback),
    },
    secrets: createSecretBox('x'.repeat(32)),
  };
  return {
    services,
    calls,
    methods: (gid?: string) =>
      calls.filter((call) => !gid || call.branch.gid === gid).map((call) => call.method),
    /** The next calls of `method` fail with these errors, in order. */
    fail(method: BranchMethod, ...errors: DomainError[]) {
      failNext[method] = [...(failNext[method] ?? []), ...errors];
    },
    /** The next call of `method` waits until the latch returned opens. */
    hold(method: BranchMethod): Latch {
      const gate = latch();
      holdNext[method] = [...(holdNext[method] ?? []), gate];
      return gate;
    },
  };
}
