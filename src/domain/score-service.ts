import { LRUCache } from 'lru-cache';
import {
  type BranchCallOptions,
  type BranchGuard,
  type BranchRef,
  type BranchReply,
  refuseHanging,
} from './branch.js';
import {
  type CacheCounters,
  type CacheInvalidation,
  type CacheOptions,
  localOnly,
  readThrough,
  uncounted,
} from './cache.js';
import { BusinessFailure, NotFound } from './errors.js';
import { checkUserScore, type UserScore } from './score.js';
import { checkUserId } from './user.js';

/** The `user-score` service of the tutorial: the second saga branch and its compensation. */
export interface ScoreService {
  /**
   * Branch action: stores the score. A score in the rejected set is the business failure
   * `score_rejected`; an action arriving after its compensation, `branch_compensated`.
   */
  saveUserScore(
    branch: BranchRef,
    input: UserScore,
    options?: BranchCallOptions,
  ): Promise<BranchReply<UserScore>>;
  /** Branch compensation: deletes the user's score. Never fails for business reasons. */
  saveUserScoreCallback(
    branch: BranchRef,
    target: { readonly userId: number },
    options?: BranchCallOptions,
  ): Promise<BranchReply<null>>;
  /** Read-through cached; `score_not_found` when the user has none. */
  getUserScore(userId: number): Promise<UserScore>;
}

export interface ScoreWrites {
  /** Throws BusinessFailure('duplicate_score') when the user already has a score. */
  insert(score: UserScore): Promise<void>;
  deleteByUserId(userId: number): Promise<void>;
}

export interface ScoreStore {
  readonly branches: BranchGuard<ScoreWrites>;
  findByUserId(userId: number): Promise<UserScore | undefined>;
}

export interface ScoreRules {
  /** The tutorial's manufactured failure (`score == 10`), kept as a configurable business rule. */
  readonly rejectedValues: readonly number[];
}

const CACHE_NAME = 'score';

export function createScoreService(
  store: ScoreStore,
  rules: ScoreRules,
  cacheOptions: CacheOptions,
  counters: CacheCounters = uncounted,
  /** Tells other processes when a score is deleted here, and hears them (REDIS_URL). */
  invalidation: CacheInvalidation = localOnly,
): ScoreService {
  const rejected = new Set(rules.rejectedValues);
  const cache = new LRUCache<number, UserScore>({
    max: cacheOptions.max,
    ttl: cacheOptions.ttlMs,
    fetchMethod: (userId) => store.findByUserId(userId),
  });
  invalidation.subscribe(CACHE_NAME, {
    drop: (key) => cache.delete(Number(key)),
    dropAll: () => cache.clear(),
  });

  return {
    async saveUserScore(branch, input, options) {
      const score = checkUserScore(input);
      const run = await store.branches.run(
        branch,
        async (writes) => {
          // Inside the branch, as in the tutorial: the refusal rolls back the barrier row with it, and a
          // replay of an already-recorded branch is answered by the barrier before the rule runs.
          if (rejected.has(score.score)) {
            throw new BusinessFailure('score_rejected', `user score can't equal ${score.score}`);
          }
          await writes.insert(score);
        },
        options?.alongside,
      );
      return { outcome: refuseHanging(run, 'saveUserScore').outcome, value: score };
    },

    async saveUserScoreCallback(branch, target, options) {
      const userId = checkUserId(target.userId, 'userId');
      const run = await store.branches.run(
        branch,
        (writes) => writes.deleteByUserId(userId),
        options?.alongside,
      );
      cache.delete(userId);
      invalidation.publish(CACHE_NAME, userId);
      return { outcome: run.outcome, value: null };
    },

    async getUserScore(userId) {
      checkUserId(userId, 'userId');
      const score = await readThrough(cache, userId, 'score', counters, (key) => store.findByUserId(key));
      if (score === undefined) throw new NotFound('score_not_found');
      return score;
    },
  };
}
