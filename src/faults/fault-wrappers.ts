import type { SagaLog } from '../domain/saga.js';
import type { ScoreService } from '../domain/score-service.js';
import type { UserService } from '../domain/user-service.js';
import type { FaultInjector, FaultPoint } from './fault-injector.js';

// The fault points sit around the services and the saga log, not inside them: the business code has no
// test-only branch, and with the no-op injector the services are handed back untouched.

/** `<point>` before the call; `<point>.afterCommit` once it returned (its transaction committed). */
async function around<T>(faults: FaultInjector, point: FaultPoint, call: () => Promise<T>): Promise<T> {
  await faults.at(point);
  const result = await call();
  await faults.at(`${point}.afterCommit` as FaultPoint);
  return result;
}

export function withUserFaults(users: UserService, faults: FaultInjector): UserService {
  if (!faults.enabled) return users;
  return {
    ...users,
    saveUser: (branch, user, options) =>
      around(faults, 'user.saveUser', () => users.saveUser(branch, user, options)),
    saveUserCallback: (branch, target, options) =>
      around(faults, 'user.saveUserCallback', () => users.saveUserCallback(branch, target, options)),
  };
}

export function withScoreFaults(scores: ScoreService, faults: FaultInjector): ScoreService {
  if (!faults.enabled) return scores;
  return {
    ...scores,
    saveUserScore: (branch, input, options) =>
      around(faults, 'score.saveUserScore', () => scores.saveUserScore(branch, input, options)),
    saveUserScoreCallback: (branch, target, options) =>
      around(faults, 'score.saveUserScoreCallback', () =>
        scores.saveUserScoreCallback(branch, target, options),
      ),
  };
}

/** `saga.log.beforeWrite` / `saga.log.afterWrite` around each write of a saga's row (create and save). */
export function withSagaLogFaults(log: SagaLog, faults: FaultInjector): SagaLog {
  if (!faults.enabled) return log;
  const write = async <T>(call: () => Promise<T>): Promise<T> => {
    await faults.at('saga.log.beforeWrite');
    const result = await call();
    await faults.at('saga.log.afterWrite');
    return result;
  };
  return {
    ...log,
    create: (saga) => write(() => log.create(saga)),
    save: (gid, lease, progress) => write(() => log.save(gid, lease, progress)),
  };
}
