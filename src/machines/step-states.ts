import { fromPromise } from 'xstate';
import type { SagaContext, StepDone, StepFailed, StepInput } from './saga-context.js';

/**
 * The retry plumbing every saga machine shares: `step()` and `compensation()` return the state node of
 * one branch call, naming the actions and guards of step-records.ts. A saga's own file says which steps
 * run in which order; this file says how one step is called, retried and recorded.
 */

/** Waits until the epoch-ms deadline. Timers may fire a millisecond early, so it checks the clock again. */
export const sleepUntil = fromPromise<void, { until: number | null }>(
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

/**
 * A step's branch call before the runtime binds it to a service (`machine.provide({ actors })`); a
 * machine run unbound fails its steps as internal errors rather than doing anything.
 */
export function unboundStep<Input>(name: string) {
  return fromPromise<StepDone, StepInput<Input>>(() =>
    Promise.reject(new Error(`step ${name} is not bound to a service (machine.provide({ actors }))`)),
  );
}

/**
 * The state nodes of a saga's steps, for a saga whose input is `Input`:
 * `const { step, compensation } = stepStates<RegisterInput>()`.
 */
export function stepStates<Input>() {
  type Context = SagaContext<Input>;

  const stepInput = ({ context }: { context: Context }): StepInput<Input> => ({
    gid: context.gid,
    input: context.input,
    results: context.results,
  });

  const backoff = (name: string) => ({
    invoke: {
      id: `${name}Backoff`,
      src: 'sleepUntil' as const,
      input: ({ context }: { context: Context }) => ({ until: context.nextAttemptAt }),
      onDone: 'calling' as const,
    },
    on: { RETRY_NOW: 'calling' as const, RESUME: { target: 'waiting' as const, reenter: true } },
  });

  /**
   * A forward step: `calling` invokes the step's actor (named like the step); a refusal, or a failure
   * whose next retry could not start before the deadline, goes to `undo`; any other failure waits in
   * `waiting` (a persisted deadline, not `after`) and calls again.
   */
  function step<const Name extends string>(name: Name, to: { readonly done: string; readonly undo: string }) {
    const params = { step: name, op: 'action' } as const;
    const failure = (next: StepFailed['next']) => ({
      type: 'reportFailure' as const,
      params: ({ event }: { event: { error: unknown } }) => ({ ...params, error: event.error, next }),
    });
    const record = (type: 'recordRefusal' | 'recordTimeout' | 'scheduleRetry') => ({
      type,
      params: ({ event }: { event: { error: unknown } }) => ({ ...params, error: event.error }),
    });
    return {
      initial: 'calling' as const,
      states: {
        calling: {
          entry: { type: 'markRunning' as const, params },
          on: { RESUME: { target: 'calling' as const, reenter: true } },
          invoke: {
            id: name,
            src: name,
            input: stepInput,
            onDone: {
              target: to.done,
              actions: {
                type: 'recordSuccess' as const,
                params: ({ event }: { event: { output: StepDone } }) => ({ ...params, done: event.output }),
              },
            },
            onError: [
              {
                guard: {
                  type: 'refused' as const,
                  params: ({ event }: { event: { error: unknown } }) => event,
                },
                target: to.undo,
                actions: [record('recordRefusal'), failure('compensate')],
              },
              {
                guard: { type: 'outOfTime' as const, params },
                target: to.undo,
                actions: [record('recordTimeout'), failure('timeout')],
              },
              { target: 'waiting', actions: [record('scheduleRetry'), failure('retry')] },
            ],
          },
        },
        waiting: backoff(name),
      },
    };
  }

  /**
   * A compensation: called until it succeeds (a compensation must not give up), then `next`. Targets are
   * state ids (`#register.compensating.saveUserCallback`): the transition leaves from the inner `calling`.
   */
  function compensation<const Name extends string>(name: Name, to: { readonly next: string }) {
    const params = { step: name, op: 'compensate' } as const;
    return {
      initial: 'calling' as const,
      states: {
        calling: {
          entry: { type: 'markRunning' as const, params },
          on: { RESUME: { target: 'calling' as const, reenter: true } },
          invoke: {
            id: name,
            src: name,
            input: stepInput,
            onDone: {
              target: to.next,
              actions: {
                type: 'recordSuccess' as const,
                params: ({ event }: { event: { output: StepDone } }) => ({ ...params, done: event.output }),
              },
            },
            onError: {
              target: 'waiting',
              actions: [
                {
                  type: 'scheduleRetry' as const,
                  params: ({ event }: { event: { error: unknown } }) => ({ ...params, error: event.error }),
                },
                {
                  type: 'reportFailure' as const,
                  params: ({ event }: { event: { error: unknown } }) => ({
                    ...params,
                    error: event.error,
                    next: 'retry' as const,
                  }),
                },
              ],
            },
          },
        },
        waiting: backoff(name),
      },
    };
  }

  return { step, compensation };
}
