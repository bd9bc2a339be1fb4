import { BusinessFailure } from '../domain/errors.js';
import type { ScoreService } from '../domain/score-service.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { User } from '../domain/user.js';
import type { UserService } from '../domain/user-service.js';
import { type RegisterInput, registerMachine } from './register-machine.js';
import type { Branch, SagaType } from './saga-type.js';

export type { RegisterInput } from './register-machine.js';

export interface RegisterServices {
  readonly users: UserService;
  readonly scores: ScoreService;
  readonly secrets: SecretBox;
}

export interface RegisterResults {
  readonly saveUser?: User;
}

/** The hash sealed for this saga (its gid is the sealed value's context: it opens in no other saga). */
function openHash(secrets: SecretBox, sealed: string | null, gid: string): string | null {
  if (sealed === null) return null;
  try {
    return secrets.open(sealed, gid);
  } catch (error) {
    throw new BusinessFailure('sealed_input_unreadable', undefined, { cause: error });
  }
}

/** The id `saveUser` stored: step results flow forward (the Go tutorial had to hard-code it). */
function savedUserId(results: Readonly<Record<string, unknown>>, fallback: number): number {
  const saved = (results as RegisterResults).saveUser;
  return typeof saved?.id === 'number' ? saved.id : fallback;
}

type RegisterBranch = Branch<RegisterInput, RegisterServices>;

/** The tutorial's branches: 01 is the user, 02 the score. */
const branches: Record<string, RegisterBranch> = {
  saveUser: {
    service: 'users',
    branchId: '01',
    op: 'action',
    call: ({ users, secrets }, { gid, branch, input, signal, alongside }) =>
      users.saveUser(
        branch,
        { ...input.user, passwordHash: openHash(secrets, input.sealedPasswordHash, gid) },
        { signal, alongside },
      ),
  },
  saveUserScore: {
    service: 'scores',
    branchId: '02',
    op: 'action',
    call: ({ scores }, { branch, input, results, signal, alongside }) =>
      scores.saveUserScore(
        branch,
        { userId: savedUserId(results, input.user.id), score: input.score },
        { signal, alongside },
      ),
  },
  saveUserScoreCallback: {
    service: 'scores',
    branchId: '02',
    op: 'compensate',
    call: ({ scores }, { branch, input, results, signal, alongside }) =>
      scores.saveUserScoreCallback(
        branch,
        { userId: savedUserId(results, input.user.id) },
        { signal, alongside },
      ),
  },
  saveUserCallback: {
    service: 'users',
    branchId: '01',
    op: 'compensate',
    call: ({ users }, { branch, input, signal, alongside }) =>
      users.saveUserCallback(branch, { id: input.user.id }, { signal, alongside }),
  },
};

/** Registration as the runtime runs it: the machine in register-machine.ts, its steps bound to the services. */
export const registerSaga: SagaType<RegisterInput, RegisterServices> = {
  type: 'register',
  version: 1,
  machine: registerMachine,
  branches,
  subjectOf: (input) => String(input.user.id),
  // The sealed hash lives only as long as its saga: the final write drops it from the input.
  forgetAtEnd: (input) =>
    input.sealedPasswordHash === null
      ? undefined
      : { ...input, sealedPasswordHash: null, passwordCleared: true },
  redactInput: (input) => ({
    user: input.user,
    score: input.score,
    password: input.sealedPasswordHash !== null ? '[sealed]' : input.passwordCleared ? '[cleared]' : 'none',
  }),
};
