import { assign, emit, setup } from 'xstate';
import type { User } from '../domain/user.js';
import {
  initialContext,
  type SagaContext,
  type SagaEvent,
  type SagaStart,
  type StepFailed,
} from './saga-context.js';
import {
  type FailureParams,
  failureNotice,
  isRefusal,
  type NoticeParams,
  outOfTime,
  record,
  type StepParams,
  type SuccessParams,
} from './step-records.js';
import { sleepUntil, stepStates, unboundStep } from './step-states.js';

/** The tutorial's registration as a saga input. Secrets are sealed before they get here. */
export interface RegisterInput {
  readonly user: User;
  readonly score: number;
  /**
   * The scrypt hash, sealed with the coordinator's SecretBox and the saga's gid: the saga log never holds
   * it in clear, and holds it sealed only until the saga ends.
   */
  readonly sealedPasswordHash: string | null;
  /** Set when the saga ended and dropped its sealed hash. */
  readonly passwordCleared?: true;
}

export type RegisterContext = SagaContext<RegisterInput>;

const { step, compensation } = stepStates<RegisterInput>();

/**
 * Register a user, as the tutorial's saga: `saveUser` (branch 01) then `saveUserScore` (branch 02). When a
 * step is refused, or keeps failing past the deadline, the saga compensates: every branch that may have
 * run, newest first, not only those its log has seen (a resumed saga may not know how far it got; a
 * compensation of a branch that never ran is a null compensation, and it blocks that branch arriving late).
 *
 * The step actors are bound to the user and score services by the runtime (`machine.provide`).
 */
export const registerMachine = setup({
  types: {
    context: {} as RegisterContext,
    input: {} as SagaStart<RegisterInput>,
    events: {} as SagaEvent,
    emitted: {} as StepFailed,
  },
  actors: {
    saveUser: unboundStep<RegisterInput>('saveUser'),
    saveUserScore: unboundStep<RegisterInput>('saveUserScore'),
    saveUserCallback: unboundStep<RegisterInput>('saveUserCallback'),
    saveUserScoreCallback: unboundStep<RegisterInput>('saveUserScoreCallback'),
    sleepUntil,
  },
  guards: {
    refused: (_, params: { error: unknown }) => isRefusal(params.error),
    outOfTime: ({ context }, params: StepParams) => outOfTime(context, params),
  },
  actions: {
    markRunning: assign(({ context }, params: StepParams) => record.running(context, params)),
    recordSuccess: assign(({ context }, params: SuccessParams) => record.success(context, params)),
    recordRefusal: assign(({ context }, params: FailureParams) => record.refusal(context, params)),
    recordTimeout: assign(({ context }, params: FailureParams) => record.timeout(context, params)),
    scheduleRetry: assign(({ context }, params: FailureParams) => record.retry(context, params)),
    reportFailure: emit(({ context }, params: NoticeParams) => failureNotice(context, params)),
  },
}).createMachine({
  id: 'register',
  initial: 'pending',
  context: ({ input }) => initialContext(input),
  states: {
    pending: step('saveUser', { done: '#register.userSaved', undo: '#register.compensating' }),
    userSaved: step('saveUserScore', { done: '#register.scoreSaved', undo: '#register.compensating' }),
    scoreSaved: { type: 'final', tags: ['succeeded'] },
    compensating: {
      tags: ['compensating'],
      initial: 'saveUserScoreCallback',
      states: {
        saveUserScoreCallback: compensation('saveUserScoreCallback', {
          next: '#register.compensating.saveUserCallback',
        }),
        saveUserCallback: compensation('saveUserCallback', { next: '#register.compensating.done' }),
        done: { type: 'final' },
      },
      onDone: 'aborted',
    },
    aborted: { type: 'final', tags: ['aborted'] },
  },
});
