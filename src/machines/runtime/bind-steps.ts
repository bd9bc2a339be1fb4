import { type AnyActorRef, fromPromise } from 'xstate';
import type { BranchRider, SagaOp } from '../../domain/branch.js';
import type { StepDone, StepInput } from '../saga-context.js';
import type { SagaType } from '../saga-type.js';

/** The actor system a saga's actor is the root of (one per saga). */
export type SagaSystem = AnyActorRef['system'];

/**
 * Runs one branch call of the saga whose actor system `system` is, if the call may go through; hands
 * the call the rider that writes the saga's move in the branch's transaction, when it rides.
 */
export type StepRunner = (
  system: SagaSystem,
  step: { readonly step: string; readonly op: SagaOp },
  signal: AbortSignal,
  call: (alongside: BranchRider | undefined) => Promise<StepDone>,
) => Promise<StepDone>;

/**
 * The step actors of a saga type, bound to its services: what `machine.provide({ actors })` is given.
 * Each resolves with the branch's value and what its barrier did, or rejects with the branch's error.
 */
export function bindSteps<Input, Services>(
  sagaType: SagaType<Input, Services>,
  services: Services,
  run: StepRunner,
) {
  const actors: Record<string, ReturnType<typeof fromPromise<StepDone, StepInput<Input>>>> = {};
  for (const [step, branch] of Object.entries(sagaType.branches)) {
    actors[step] = fromPromise<StepDone, StepInput<Input>>(({ input, signal, system }) =>
      run(system, { step, op: branch.op }, signal, async (alongside) => {
        const reply = await branch.call(services, {
          gid: input.gid,
          branch: { transType: 'saga', gid: input.gid, branchId: branch.branchId, op: branch.op },
          input: input.input,
          results: input.results,
          signal,
          alongside,
        });
        return { value: reply.value, barrier: reply.outcome };
      }),
    );
  }
  return actors;
}

/** The step actors a machine invokes that are not timers: each must have a branch. */
export function checkBranches(sagaType: SagaType<unknown, unknown>): void {
  const declared = Object.keys(sagaType.machine.implementations.actors).filter(
    (name) => name !== 'sleepUntil',
  );
  const missing = declared.filter((name) => !(name in sagaType.branches));
  const extra = Object.keys(sagaType.branches).filter((name) => !declared.includes(name));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `saga type ${sagaType.type}: the machine's step actors and the branches differ (no branch for: ${missing.join(', ') || 'none'}; no actor for: ${extra.join(', ') || 'none'})`,
    );
  }
}
