import type { BarrierOutcome, SagaOp } from '../domain/branch.js';
import { DomainError, type ErrorInfo, type ErrorKind } from '../domain/errors.js';
import { backoffDelay, backoffFloor } from './backoff.js';
import type { AttemptRecord, SagaContext, StepDone, StepFailed, StepProgress } from './saga-context.js';

/**
 * How a step's call ends up in the saga's context: pure functions over the context, which a machine's
 * own `setup({ actions, guards })` wraps in `assign`, `emit` and guards with its types.
 */

const MAX_HISTORY = 100;

/** Errors become data the machine can route on; anything that is not ours counts as internal (retried). */
export function failureOf(error: unknown): { error: ErrorInfo; kind: ErrorKind } {
  if (error instanceof DomainError) return { error: error.toJSON(), kind: error.kind };
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: 'internal', message: `unexpected error: ${message}` }, kind: 'internal' };
}

/**
 * A forward step that gets any of these answers cannot succeed by retrying: compensate. Not among them:
 * `unauthenticated` (a service refusing our credential is a configuration problem an operator can fix;
 * the saga waits for it rather than aborting) and `internal` (retried, and logged as an error).
 */
const REFUSALS: ReadonlySet<ErrorKind> = new Set<ErrorKind>(['business', 'invalid', 'notFound']);

export interface StepParams {
  readonly step: string;
  readonly op: SagaOp;
}

/** The parameters a step state passes the actions that record how a call ended. */
export type SuccessParams = StepParams & { readonly done: StepDone };
export type FailureParams = StepParams & { readonly error: unknown };
export type NoticeParams = FailureParams & { readonly next: StepFailed['next'] };

function withAttempt<Input>(
  context: SagaContext<Input>,
  params: StepParams,
  result: AttemptRecord['outcome'],
  status: StepProgress['status'],
  barrier: BarrierOutcome | null,
  error: ErrorInfo | null,
): Pick<SagaContext<Input>, 'steps' | 'history' | 'droppedHistory'> {
  const previous = context.steps[params.step];
  const attempt = (previous?.attempts ?? 0) + 1;
  const finishedAt = Date.now();
  const record: AttemptRecord = {
    step: params.step,
    op: params.op,
    attempt,
    startedAt: previous?.startedAt ?? finishedAt,
    finishedAt,
    outcome: result,
    barrier,
    error,
  };
  let history = [...context.history, record];
  let droppedHistory = context.droppedHistory;
  if (history.length > MAX_HISTORY) {
    droppedHistory += history.length - MAX_HISTORY;
    history = history.slice(history.length - MAX_HISTORY);
  }
  return {
    steps: {
      ...context.steps,
      [params.step]: {
        op: params.op,
        status,
        attempts: attempt,
        lastError: error ?? previous?.lastError ?? null,
      },
    },
    history,
    droppedHistory,
  };
}

/**
 * How each action a step state names changes the context: pure functions, so the machine's own
 * `setup({ actions })` wraps them in `assign` with its types.
 */
export const record = {
  running<Input>(context: SagaContext<Input>, params: StepParams): Partial<SagaContext<Input>> {
    const previous = context.steps[params.step];
    return {
      steps: {
        ...context.steps,
        [params.step]: {
          op: params.op,
          status: 'running',
          attempts: previous?.attempts ?? 0,
          lastError: previous?.lastError ?? null,
          startedAt: Date.now(),
        },
      },
      nextAttemptAt: null,
    };
  },
  success<Input>(context: SagaContext<Input>, params: SuccessParams): Partial<SagaContext<Input>> {
    return {
      ...withAttempt(context, params, 'succeeded', 'succeeded', params.done.barrier, null),
      results:
        params.op === 'action' ? { ...context.results, [params.step]: params.done.value } : context.results,
      nextAttemptAt: null,
    };
  },
  refusal<Input>(context: SagaContext<Input>, params: FailureParams): Partial<SagaContext<Input>> {
    const { error } = failureOf(params.error);
    return { ...withAttempt(context, params, 'failed', 'failed', null, error), error, lastError: error };
  },
  timeout<Input>(context: SagaContext<Input>, params: FailureParams): Partial<SagaContext<Input>> {
    const last = failureOf(params.error).error;
    const error: ErrorInfo = {
      code: 'saga_timeout',
      message: `${params.step} kept failing past the saga timeout: ${last.message}`,
    };
    return { ...withAttempt(context, params, 'failed', 'failed', null, last), error, lastError: last };
  },
  retry<Input>(context: SagaContext<Input>, params: FailureParams): Partial<SagaContext<Input>> {
    const { error } = failureOf(params.error);
    const progress = withAttempt(context, params, 'retrying', 'waiting', null, error);
    const attempts = progress.steps[params.step]?.attempts ?? 1;
    return {
      ...progress,
      lastError: error,
      nextAttemptAt: Date.now() + backoffDelay(context.retry, attempts),
    };
  },
};

/** The `stepFailed` event a failed call emits. */
export function failureNotice<Input>(context: SagaContext<Input>, params: NoticeParams): StepFailed {
  return {
    type: 'stepFailed',
    gid: context.gid,
    step: params.step,
    op: params.op,
    attempt: context.steps[params.step]?.attempts ?? 1,
    ...failureOf(params.error),
    next: params.next,
  };
}

/** A refusal: retrying cannot help, so a forward step compensates. */
export const isRefusal = (error: unknown): boolean => REFUSALS.has(failureOf(error).kind);

/** The next retry of the step could not start before the saga's deadline. */
export function outOfTime<Input>(context: SagaContext<Input>, params: StepParams): boolean {
  const attempts = (context.steps[params.step]?.attempts ?? 0) + 1;
  return Date.now() + backoffFloor(context.retry, attempts) > context.deadline;
}
