import { type Actor, type AnyStateMachine, createActor, type InspectionEvent } from 'xstate';
import { isFinalStatus, type SagaMove } from '../../domain/saga.js';
import type { AnySagaType, SagaType } from '../saga-type.js';
import { bindSteps, checkBranches, type StepRunner } from './bind-steps.js';
import { callingStates, successTargets, undoneActions } from './riding.js';

/** A saga type as this process runs it: its machine with the steps bound to this process's services. */
export interface DefinedType {
  readonly sagaType: AnySagaType;
  readonly machine: AnyStateMachine;
  /** The steps whose transactions carry the saga's log (their service runs here, on the log's database). */
  readonly riding: ReadonlySet<string>;
  /** Where each step's success takes the saga (riding.ts). */
  readonly targets: ReturnType<typeof successTargets>;
  /** The state that calls each step (`userSaved.calling` → saveUserScore). */
  readonly callingStates: ReadonlyMap<string, string>;
  /** The action each compensation undoes (`saveUserScoreCallback` → saveUserScore): they share a branch. */
  readonly undoes: ReadonlyMap<string, string>;
}

/**
 * A saga type made ready to run here: its machine's step actors bound to `services`, each call going
 * through `run` (the runner's gate and riding), and what riding needs found once from the machine.
 */
export function defineType<Input, Services>(
  sagaType: SagaType<Input, Services>,
  services: Services,
  ridingServices: Iterable<keyof Services & string>,
  run: (defined: DefinedType, ...call: Parameters<StepRunner>) => ReturnType<StepRunner>,
): DefinedType {
  checkBranches(sagaType as AnySagaType);
  const ops = new Map(Object.entries(sagaType.branches).map(([step, branch]) => [step, branch.op]));
  const riding = new Set<string>(ridingServices);
  const defined: DefinedType = {
    sagaType,
    machine: sagaType.machine.provide({
      actors: bindSteps(sagaType, services, (...call) => run(defined, ...call)),
    }),
    riding: new Set(
      Object.entries(sagaType.branches)
        .filter(([, branch]) => riding.has(branch.service))
        .map(([step]) => step),
    ),
    targets: successTargets(sagaType.machine, ops),
    callingStates: callingStates(sagaType.machine),
    undoes: undoneActions(sagaType),
  };
  return defined;
}

/** An actor of the type's machine: new from `input`, or restored from a persisted `snapshot`. */
export function sagaActor(
  defined: DefinedType,
  gid: string,
  from: { readonly input: unknown } | { readonly snapshot: unknown },
  inspect?: (event: InspectionEvent) => void,
): Actor<AnyStateMachine> {
  return createActor(defined.machine, {
    id: `${defined.sagaType.type}:${gid}`,
    ...from,
    ...(inspect ? { inspect } : {}),
  } as Parameters<typeof createActor<AnyStateMachine>>[1]);
}

/** A final move drops the secrets the saga's input carried for its steps (SagaType.forgetAtEnd). */
export function forgetting(defined: DefinedType, move: SagaMove, input: unknown): SagaMove {
  if (!isFinalStatus(move.status)) return move;
  const kept = defined.sagaType.forgetAtEnd?.(input);
  return kept === undefined ? move : { ...move, rewrittenInput: kept };
}
