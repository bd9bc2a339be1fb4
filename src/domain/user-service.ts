import { LRUCache } from 'lru-cache';
import { type AttemptLimit, createAttemptCounter } from './attempt-limit.js';
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
import { InvalidArgument, NotFound } from './errors.js';
import { verifyPassword as checkPassword, PASSWORD_MAX } from './password.js';
import { checkNewUser, checkUserId, type NewUser, type StoredUser, type User } from './user.js';

/**
 * The `user` service of the tutorial: the first saga branch and its compensation, plus the reads.
 * The coordinator and the transports call this interface; whether it runs here or behind gRPC is
 * theirs to know, not ours.
 */
export interface UserService {
  /**
   * Branch action: inserts the user. A taken id is the business failure `duplicate_user`; an action
   * arriving after its compensation, `branch_compensated`.
   */
  saveUser(branch: BranchRef, user: NewUser, options?: BranchCallOptions): Promise<BranchReply<User>>;
  /** Branch compensation: deletes the user (and forgets it in the cache). Never fails for business reasons. */
  saveUserCallback(
    branch: BranchRef,
    target: { readonly id: number },
    options?: BranchCallOptions,
  ): Promise<BranchReply<null>>;
  /** Read-through cached; `user_not_found` when there is no such user. */
  getUser(id: number): Promise<StoredUser>;
  /**
   * False for an unknown id, a user without a password, or a wrong password; equally slow for each.
   * `rate_limited` past the per-id limit.
   */
  verifyPassword(id: number, password: string): Promise<boolean>;
}

/** The writes a branch makes, bound to the branch's local transaction. */
export interface UserWrites {
  /** Throws BusinessFailure('duplicate_user') when the id is taken. */
  insert(user: NewUser): Promise<void>;
  deleteById(id: number): Promise<void>;
}

export interface UserStore {
  readonly branches: BranchGuard<UserWrites>;
  findById(id: number): Promise<StoredUser | undefined>;
  findPasswordHash(id: number): Promise<string | null | undefined>;
}

export interface UserServiceOptions {
  /**
   * Password checks per user id in a window, from every caller together (LOGIN_ID_RATE_MAX): gRPC's
   * verifyPassword is a password oracle for whoever holds the service token, and /login's stricter
   * per-client limits live in the HTTP transport.
   */
  readonly passwordChecksPerId?: AttemptLimit;
  /** Tells other processes when a user is deleted here, and hears them (REDIS_URL). */
  readonly invalidation?: CacheInvalidation;
}

const CACHE_NAME = 'user';

export function createUserService(
  store: UserStore,
  cacheOptions: CacheOptions,
  counters: CacheCounters = uncounted,
  options: UserServiceOptions = {},
): UserService {
  const passwordChecks = options.passwordChecksPerId && createAttemptCounter(options.passwordChecksPerId);
  // lru-cache's fetch makes concurrent misses for one id share one query, and a delete during a pending
  // fetch discards that fetch's result, so a compensation cannot be undone by a read racing it.
  const cache = new LRUCache<number, StoredUser>({
    max: cacheOptions.max,
    ttl: cacheOptions.ttlMs,
    fetchMethod: (id) => store.findById(id),
  });
  const invalidation = options.invalidation ?? localOnly;
  invalidation.subscribe(CACHE_NAME, {
    drop: (key) => cache.delete(Number(key)),
    dropAll: () => cache.clear(),
  });

  return {
    async saveUser(branch, input, options) {
      const user = checkNewUser(input);
      const run = refuseHanging(
        await store.branches.run(branch, (writes) => writes.insert(user), options?.alongside),
        'saveUser',
      );
      // A new row for this id: anything cached for it is an earlier row, deleted where this process
      // could not see it (a token check must read the new row's creation time).
      if (run.outcome === 'done') cache.delete(user.id);
      return { outcome: run.outcome, value: { id: user.id, name: user.name, gender: user.gender } };
    },

    async saveUserCallback(branch, target, options) {
      const id = checkUserId(target.id);
      const run = await store.branches.run(branch, (writes) => writes.deleteById(id), options?.alongside);
      cache.delete(id);
      invalidation.publish(CACHE_NAME, id);
      return { outcome: run.outcome, value: null };
    },

    async getUser(id) {
      checkUserId(id);
      const user = await readThrough(cache, id, 'user', counters, (key) => store.findById(key));
      if (user === undefined) throw new NotFound('user_not_found');
      return user;
    },

    async verifyPassword(id, password) {
      checkUserId(id);
      // No stored password is longer; refusing early keeps a huge one from being hashed at all.
      if (typeof password !== 'string' || password.length > 2 * PASSWORD_MAX) {
        throw new InvalidArgument(`password must be at most ${PASSWORD_MAX} characters`);
      }
      // Counted before hashing: refusing is what saves the thread pool.
      passwordChecks?.take(id, 'too many password checks for this user, try again later');
      return checkPassword(password, await store.findPasswordHash(id));
    },
  };
}
