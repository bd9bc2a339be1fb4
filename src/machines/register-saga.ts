import type { BranchReply } from '../domain/branch.js';
import { BusinessFailure } from '../domain/errors.js';
import type { ScoreService } from '../domain/score-service.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { User } from '../domain/user.js';
import type { UserService } from '../domain/user-service.js';
import type { SagaDefinition } from './saga-definition.js';

/** The tutorial's registration as a saga input. Secrets are sealed before they get here. */
export interface RegisterInput {
  readonly user: User;
  readonly score: number;
  /** The scrypt hash, sealed with the coordinator's SecretBox: the saga log never holds it in clear. */
  readonly sealedPasswordHash: string | null;
}

export interface RegisterServices {
  readonly users: UserService;
  readonly scores: ScoreService;
  readonly secrets: SecretBox;
}

export interface RegisterResults {
  readonly saveUser?: User;
}

function openHash(secrets: SecretBox, sealed: string | null): string | null {
  if (sealed === null) return null;
  try {
    return secrets.open(sealed);
  } catch (error) {
    throw new BusinessFailure('sealed_input_unreadable', undefined, { cause: error });
  }
}

/** The id `saveUser` stored: step results flow forward (the Go tutorial had to hard-code it). */
function savedUserId(results: Readonly<Record<string, unknown>>, fallback: number): number {
  const saved = (results as RegisterResults).saveUser;
  return typeof saved?.id === 'number' ? saved.id : fallback;
}

/**
 * Register a user: `saveUser` then `saveUserScore` (tutorial branches 01 and 02), each undone by its
 * callback in reverse order when a later branch refuses. States: pending → userSaved → scoreSaved, or
 * → compensating → aborted.
 */
export const registerSaga: SagaDefinition<RegisterInput, RegisterServices> = {
  type: 'register',
  version: 1,
  initialState: 'pending',
  steps: [
    {
      name: 'saveUser',
      branchId: '01',
      doneState: 'userSaved',
      action: ({ users, secrets }, { branch, input, signal }) =>
        users.saveUser(
          branch,
          { ...input.user, passwordHash: openHash(secrets, input.sealedPasswordHash) },
          { signal },
        ),
      compensation: {
        name: 'saveUserCallback',
        run: ({ users }, { branch, input, signal }) =>
          users.saveUserCallback(branch, { id: input.user.id }, { signal }),
      },
    },
    {
      name: 'saveUserScore',
      branchId: '02',
      doneState: 'scoreSaved',
      action: ({ scores }, { branch, input, results, signal }): Promise<BranchReply<unknown>> =>
        scores.saveUserScore(
          branch,
          { userId: savedUserId(results, input.user.id), score: input.score },
          { signal },
        ),
      compensation: {
        name: 'saveUserScoreCallback',
        run: ({ scores }, { branch, input, results, signal }) =>
          scores.saveUserScoreCallback(branch, { userId: savedUserId(results, input.user.id) }, { signal }),
      },
    },
  ],
  subjectOf: (input) => String(input.user.id),
  redactInput: (input) => ({
    user: input.user,
    score: input.score,
    password: input.sealedPasswordHash === null ? 'none' : '[sealed]',
  }),
};
