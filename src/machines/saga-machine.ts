import {
  type Actor,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  assign,
  createActor,
  fromPromise,
  type InspectionEvent,
  type MachineConfig,
  type PromiseActorLogic,
  type Snapshot,
  type StateValue,
  setup,
} from 'xstate';
import type { BarrierOutcome, BranchOp } from '../domain/branch.js';
import { DomainError, type ErrorInfo, type ErrorKind } from '../domain/errors.js';
import type { SagaStatus } from '../domain/saga.js';
import { backoffDelay, backoffFloor, type RetryPolicy } from './backoff.js';
import type {
  AttemptRecord,
  SagaContext,
  SagaDefinition,
  SagaStartInput,
  SagaStep,
  StepActorInput,
  StepCode,
  StepOutcome,
  StepProgress,
} from './saga-definition.js';

/** Lets a step call through only when this process may make it, and tracks it for a graceful stop. */
export interface StepCallInfo {
  readonly gid: string;
  readonly step: string;
  readonly op: BranchOp;
}

export interface CallGate {
  run<T>(info: StepCallInfo, signal: AbortSignal, call: () => Promise<T>): Promise<T>;
}

export interface StepFailureNotice {
  readonly gid: string;
  readonly type: string;
  readonly step: string;
  readonly op: BranchOp;
  readonly attempt: number;
  readonly error: ErrorInfo;
  readonly kind: string;
  /** What the saga does next. */
  readonly next: 'retry' | 'compensate' | 'timeout';
  /** A compensation past ALERT_RETRY_LIMIT attempts: someone should look (DTM's alert hook). */
  readonly alert: boolean;
}

export interface SagaMachineDeps<Services> {
  readonly services: Services;
  readonly policy: RetryPolicy;
  readonly alertRetryLimit: number;
  readonly gate: CallGate;
  readonly onStepFailure: (notice: StepFailureNotice) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

export type SagaEvent = { type: 'RETRY_NOW' };

const MAX_HISTORY = 100;
const SLEEP_ACTOR = 'sleepUntil';

/** Errors become data the machine can route on; anything that is not ours counts as internal (retried). */
function failureOf(error: unknown): { error: ErrorInfo; kind: ErrorKind } {
  if (error instanceof DomainError) return { error: error.toJSON(), kind: error.kind };
  const message = error instanceof Error ? error.message : String(error);
  return { error: { code: 'internal', message: `unexpected error: ${message}` }, kind: 'internal' };
}

/**
 * A forward step that gets any of these answers cannot succeed by retrying: compensate. Not among them:
 * `unauthenticated` (a service refusing our credential is a configuration problem an operator can fix;
 * the saga waits for it rather than aborting) and `internal` (retried, and logged as an error).
 */
const REFUSALS = new Set(['business', 'invalid', 'notFound']);

function stepActor<Input, Services>(
  step: string,
  code: StepCode<Input, Services>,
  op: BranchOp,
  branchId: string,
  transType: string,
  deps: SagaMachineDeps<Services>,
) {
  const now = deps.now ?? Date.now;
  return fromPromise<StepOutcome, StepActorInput<Input>>(async ({ input, signal }) =>
    deps.gate.run({ gid: input.gid, step, op }, signal, async (): Promise<StepOutcome> => {
      const startedAt = now();
      let barrier: BarrierOutcome | null = null;
      try {
        const reply = await code(deps.services, {
          gid: input.gid,
          branch: { transType, gid: input.gid, branchId, op },
          input: input.input,
          results: input.results,
          signal,
        });
        barrier = reply.outcome;
        if (reply.outcome === 'hanging') {
          // DTM answers a hanging action with success; for us it means the branch was compensated.
          return {
            ok: false,
            error: {
              code: 'branch_compensated',
              message: 'this branch was already compensated (hanging action)',
            },
            kind: 'business',
            barrier,
            startedAt,
            finishedAt: now(),
          };
        }
        return { ok: true, value: reply.value, barrier, startedAt, finishedAt: now() };
      } catch (error) {
        return { ok: false, ...failureOf(error), barrier, startedAt, finishedAt: now() };
      }
    }),
  );
}

/** Waits until the epoch-ms deadline. Timers may fire a millisecond early, so it checks the clock again. */
const sleepUntil = fromPromise<void, { until: number | null }>(
  ({ input, signal }) =>
    new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = () => {
        const delay = input.until === null ? 0 : input.until - Date.now();
        if (delay <= 0) {
          signal.removeEventListener('abort', cancel);
          resolve();
        } else {
          timer = setTimeout(check, delay + 1);
        }
      };
      const cancel = () => clearTimeout(timer);
      signal.addEventListener('abort', cancel, { once: true });
      check();
    }),
);

function withAttempt<Input>(
  context: SagaContext<Input>,
  step: string,
  op: BranchOp,
  outcome: StepOutcome,
  result: AttemptRecord['outcome'],
  status: StepProgress['status'],
): Pick<SagaContext<Input>, 'steps' | 'history' | 'droppedHistory'> {
  const previous = context.steps[step];
  const attempt = (previous?.attempts ?? 0) + 1;
  const error = outcome.ok ? null : outcome.error;
  const record: AttemptRecord = {
    step,
    op,
    attempt,
    startedAt: outcome.startedAt,
    finishedAt: outcome.finishedAt,
    outcome: result,
    barrier: outcome.barrier,
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
      [step]: { op, status, attempts: attempt, lastError: error ?? previous?.lastError ?? null },
    },
    history,
    droppedHistory,
  };
}

/**
 * Builds the XState machine for a saga definition. Layout, for steps s0..sn:
 *
 *   initialState ─s0 ok→ s0.doneState ─s1 ok→ … ─sn ok→ sn.doneState (final: succeeded)
 *        │ refused / out of time                │
 *        ▼                                      ▼
 *   compensating.<s0 comp>  ◀─ ok ─  compensating.<s1 comp>  ◀─ …     (each: retried until it succeeds)
 *        │ ok
 *        ▼
 *     aborted (final)
 *
 * Each running state has `calling` (invokes the step) and `waiting` (invokes `sleepUntil` with the
 * deadline kept in context, so a restored saga honours it; `RETRY_NOW` skips the wait).
 */
export function buildSagaMachine<Input, Services>(
  definition: SagaDefinition<Input, Services>,
  deps: SagaMachineDeps<Services>,
) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { steps } = definition;
  if (steps.length === 0) throw new Error(`saga ${definition.type} has no steps`);

  const actors: Record<string, PromiseActorLogic<StepOutcome, StepActorInput<Input>> | typeof sleepUntil> = {
    [SLEEP_ACTOR]: sleepUntil,
  };
  for (const step of steps) {
    actors[step.name] = stepActor(step.name, step.action, 'action', step.branchId, 'saga', deps);
    actors[step.compensation.name] = stepActor(
      step.compensation.name,
      step.compensation.run,
      'compensate',
      step.branchId,
      'saga',
      deps,
    );
  }

  type Context = SagaContext<Input>;
  type DoneEvent = { type: string; output: StepOutcome };
  type StepParams = { step: string; op: BranchOp };

  const logic = setup({
    types: {
      context: {} as Context,
      events: {} as SagaEvent,
      input: {} as SagaStartInput<Input>,
    },
    actors,
    guards: {
      succeeded: ({ event }) => (event as unknown as DoneEvent).output.ok,
      refused: ({ event }) => {
        const outcome = (event as unknown as DoneEvent).output;
        return !outcome.ok && REFUSALS.has(outcome.kind);
      },
      outOfTime: ({ context }, params: StepParams) => {
        const attempts = (context.steps[params.step]?.attempts ?? 0) + 1;
        return now() + backoffFloor(deps.policy, attempts) > context.deadline;
      },
    },
    actions: {
      recordSuccess: assign(({ context, event }, params: StepParams) => {
        const outcome = (event as unknown as DoneEvent).output;
        return {
          ...withAttempt(context, params.step, params.op, outcome, 'succeeded', 'succeeded'),
          results:
            params.op === 'action' && outcome.ok
              ? { ...context.results, [params.step]: outcome.value }
              : context.results,
          nextAttemptAt: null,
        };
      }),
      recordRefusal: assign(({ context, event }, params: StepParams) => {
        const outcome = (event as unknown as DoneEvent).output;
        const error = outcome.ok ? null : outcome.error;
        return {
          ...withAttempt(context, params.step, params.op, outcome, 'failed', 'failed'),
          error,
          lastError: error,
        };
      }),
      recordTimeout: assign(({ context, event }, params: StepParams) => {
        const outcome = (event as unknown as DoneEvent).output;
        const last = outcome.ok ? null : outcome.error;
        const error: ErrorInfo = {
          code: 'saga_timeout',
          message: `${params.step} kept failing past the saga timeout${last ? `: ${last.message}` : ''}`,
        };
        return {
          ...withAttempt(context, params.step, params.op, outcome, 'failed', 'failed'),
          error,
          lastError: last,
        };
      }),
      scheduleRetry: assign(({ context, event }, params: StepParams) => {
        const outcome = (event as unknown as DoneEvent).output ?? crashOutcome(event, now);
        const progress = withAttempt(context, params.step, params.op, outcome, 'retrying', 'waiting');
        const attempts = progress.steps[params.step]?.attempts ?? 1;
        return {
          ...progress,
          lastError: outcome.ok ? null : outcome.error,
          nextAttemptAt: now() + backoffDelay(deps.policy, attempts, random),
        };
      }),
      notifyFailure: ({ context, event }, params: StepParams & { next: StepFailureNotice['next'] }) => {
        const outcome = (event as unknown as DoneEvent).output ?? crashOutcome(event, now);
        if (outcome.ok) return;
        const attempt = context.steps[params.step]?.attempts ?? 1;
        deps.onStepFailure({
          gid: context.gid,
          type: definition.type,
          step: params.step,
          op: params.op,
          attempt,
          error: outcome.error,
          kind: outcome.kind,
          next: params.next,
          alert: params.op === 'compensate' && attempt >= deps.alertRetryLimit,
        });
      },
      markRunning: assign(({ context }, params: StepParams) => {
        const previous = context.steps[params.step];
        return {
          steps: {
            ...context.steps,
            [params.step]: {
              op: params.op,
              status: 'running' as const,
              attempts: previous?.attempts ?? 0,
              lastError: previous?.lastError ?? null,
            },
          },
          nextAttemptAt: null,
        };
      }),
    },
  });

  const id = definition.type;
  const compensationTarget = (index: number) => `#${id}.compensating.${steps[index]!.compensation.name}`;
  const successState = steps[steps.length - 1]!.doneState;

  function runningState(name: string, op: BranchOp, transitions: { done: string; refuse?: string }) {
    const params = { step: name, op };
    const failed = transitions.refuse;
    return {
      initial: 'calling',
      states: {
        calling: {
          entry: { type: 'markRunning', params },
          invoke: {
            id: name,
            src: name,
            input: ({ context }: { context: Context }) => ({
              gid: context.gid,
              input: context.input,
              results: context.results,
            }),
            onDone: [
              { guard: 'succeeded', target: transitions.done, actions: { type: 'recordSuccess', params } },
              ...(failed
                ? [
                    {
                      guard: 'refused',
                      target: failed,
                      actions: [
                        { type: 'recordRefusal', params },
                        { type: 'notifyFailure', params: { ...params, next: 'compensate' } },
                      ],
                    },
                    {
                      guard: { type: 'outOfTime', params },
                      target: failed,
                      actions: [
                        { type: 'recordTimeout', params },
                        { type: 'notifyFailure', params: { ...params, next: 'timeout' } },
                      ],
                    },
                  ]
                : []),
              {
                target: 'waiting',
                actions: [
                  { type: 'scheduleRetry', params },
                  { type: 'notifyFailure', params: { ...params, next: 'retry' } },
                ],
              },
            ],
            // Step actors never reject; this catches a failure of the machinery itself, and retries.
            onError: {
              target: 'waiting',
              actions: [
                { type: 'scheduleRetry', params },
                { type: 'notifyFailure', params: { ...params, next: 'retry' } },
              ],
            },
          },
        },
        waiting: {
          invoke: {
            id: `${name}Backoff`,
            src: SLEEP_ACTOR,
            input: ({ context }: { context: Context }) => ({ until: context.nextAttemptAt }),
            onDone: 'calling',
          },
          on: { RETRY_NOW: 'calling' },
        },
      },
    };
  }

  const states: Record<string, unknown> = {};
  steps.forEach((step: SagaStep<Input, Services>, index) => {
    const stateName = index === 0 ? definition.initialState : steps[index - 1]!.doneState;
    states[stateName] = runningState(step.name, 'action', {
      done: `#${id}.${step.doneState}`,
      refuse: compensationTarget(index),
    });
  });
  states[successState] = { type: 'final' };

  const compensations: Record<string, unknown> = {};
  steps.forEach((step, index) => {
    compensations[step.compensation.name] = runningState(step.compensation.name, 'compensate', {
      done: index === 0 ? `#${id}.aborted` : compensationTarget(index - 1),
    });
  });
  states.compensating = {
    tags: ['compensating'],
    initial: steps[steps.length - 1]!.compensation.name,
    states: compensations,
  };
  states.aborted = { type: 'final' };

  const config = {
    id,
    initial: definition.initialState,
    context: ({ input }: { input: SagaStartInput<Input> }): Context => ({
      gid: input.gid,
      input: input.input,
      deadline: input.deadline,
      results: {},
      steps: {},
      nextAttemptAt: null,
      error: null,
      lastError: null,
      history: [],
      droppedHistory: 0,
    }),
    states,
  } as unknown as MachineConfig<Context, SagaEvent>;

  const machine = logic.createMachine(config as Parameters<typeof logic.createMachine>[0]);

  return {
    definition,
    machine,
    successState,
    /** The saga-log status of a snapshot. */
    statusOf(snapshot: AnyMachineSnapshot): SagaStatus {
      if (snapshot.status === 'done') return snapshot.value === successState ? 'succeeded' : 'aborted';
      return snapshot.hasTag('compensating') ? 'compensating' : 'pending';
    },
  };
}

export type SagaMachine<Input, Services> = ReturnType<typeof buildSagaMachine<Input, Services>>;

/**
 * An actor restored from a persisted snapshot. XState's types ask for `input` even then, although a
 * restored actor takes its context from the snapshot and ignores input; this is the one place that says so.
 */
export function restoreSagaActor(
  machine: AnyStateMachine,
  snapshot: unknown,
  options: { id?: string; inspect?: (event: InspectionEvent) => void } = {},
): Actor<AnyStateMachine> {
  return createActor(machine, { ...options, snapshot: snapshot as Snapshot<unknown>, input: undefined });
}

/** `pending`, `userSaved.waiting`, `compensating.saveUserCallback.calling`. */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, inner]) => (inner === undefined ? key : `${key}.${stateName(inner as StateValue)}`))
    .join(',');
}

function crashOutcome(event: unknown, now: () => number): StepOutcome {
  const error = (event as { error?: unknown }).error;
  const at = now();
  return { ok: false, ...failureOf(error), barrier: null, startedAt: at, finishedAt: at };
}
