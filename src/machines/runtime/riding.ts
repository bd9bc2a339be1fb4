import { type AnyStateMachine, type StateValue, transition } from 'xstate';
import type { BarrierOutcome, SagaOp } from '../../domain/branch.js';
import type { SagaMove, SagaStatus } from '../../domain/saga.js';
import { detailOf, initialContext, progressRecordOf, type SagaContext } from '../saga-context.js';
import { record } from '../step-records.js';
import { stateName, stateValueOf, statusOf } from './saga-progress.js';

/** Where a step's success takes its saga: the state it enters, and the step that state calls, if any. */
interface SuccessTarget {
  readonly state: string;
  readonly status: SagaStatus;
  readonly calls: { readonly step: string; readonly op: SagaOp } | null;
}

/** Every state that calls a step (`userSaved.calling`), with the step it invokes. */
export function callingStates(machine: AnyStateMachine): Map<string, string> {
  const found = new Map<string, string>();
  const prefix = `${machine.id}.`;
  const visit = (node: AnyStateMachine['root']) => {
    for (const invoke of node.invoke) {
      if (invoke.src !== 'sleepUntil') found.set(node.id.slice(prefix.length), String(invoke.src));
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return found;
}

/**
 * The move each step's success makes, found once by running XState's own pure `transition` from the
 * state that calls the step: the log can then be written inside the step's transaction, before its
 * actor knows the step is done (a write-ahead of the move the actor makes once it commits).
 */
export function successTargets(
  machine: AnyStateMachine,
  ops: ReadonlyMap<string, SagaOp>,
): Map<string, SuccessTarget> {
  const calls = callingStates(machine);
  const sample = initialContext({
    gid: 'sample',
    input: null,
    deadline: 0,
    retry: { baseMs: 1, factor: 1, maxMs: 1 },
  });
  const targets = new Map<string, SuccessTarget>();
  for (const [path, step] of calls) {
    const from = machine.resolveState({ value: stateValueOf(path), context: sample });
    const [next] = transition(machine, from, {
      type: `xstate.done.actor.${step}`,
      output: { value: null, barrier: 'done' },
    } as never);
    const state = stateName(next.value as StateValue);
    const nextStep = calls.get(state);
    targets.set(step, {
      state,
      status: statusOf(next),
      calls: nextStep === undefined ? null : { step: nextStep, op: ops.get(nextStep) ?? 'action' },
    });
  }
  return targets;
}

/**
 * The move a step's success makes from `context`, as the actor will make it: the step recorded as
 * succeeded (its value joins the results with the next write: it is not known inside the transaction),
 * then the next step marked running.
 */
export function successMove(
  context: SagaContext<unknown>,
  step: string,
  op: SagaOp,
  barrier: BarrierOutcome,
  target: SuccessTarget,
): SagaMove {
  let next: SagaContext<unknown> = {
    ...context,
    ...record.success(context, { step, op, done: { value: undefined, barrier } }),
  };
  if (target.calls) next = { ...next, ...record.running(next, target.calls) };
  return {
    status: target.status,
    state: target.state,
    progress: progressRecordOf(next),
    detail: detailOf(next),
  };
}

/** The action each compensation undoes: the action step of the same branch. */
export function undoneActions(sagaType: {
  readonly branches: Readonly<Record<string, { readonly branchId: string; readonly op: SagaOp }>>;
}): Map<string, string> {
  const branches = Object.entries(sagaType.branches);
  const undoes = new Map<string, string>();
  for (const [step, { branchId, op }] of branches) {
    if (op === 'action') continue;
    const action = branches.find(([, other]) => other.branchId === branchId && other.op === 'action');
    if (action) undoes.set(step, action[0]);
  }
  return undoes;
}
