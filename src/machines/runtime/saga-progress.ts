import type { AnyMachineSnapshot, AnyStateMachine, StateValue } from 'xstate';
import type { SagaMove, SagaRecord, SagaStatus } from '../../domain/saga.js';
import type { RetryPolicy } from '../backoff.js';
import { contextFromRecord, detailOf, progressRecordOf, type SagaContext } from '../saga-context.js';

/**
 * The saga-log status of a snapshot, from the tags a saga machine puts on its states: `compensating` on
 * the compensation states, `succeeded` on its final success state (every other final state is `aborted`).
 */
export function statusOf(snapshot: AnyMachineSnapshot): SagaStatus {
  if (snapshot.status === 'done') return snapshot.hasTag('succeeded') ? 'succeeded' : 'aborted';
  return snapshot.hasTag('compensating') ? 'compensating' : 'pending';
}

/** `pending`, `userSaved.waiting`, `compensating.saveUserCallback.calling`. */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  return Object.entries(value)
    .map(([key, inner]) => (inner === undefined ? key : `${key}.${stateName(inner as StateValue)}`))
    .join(',');
}

/** The state value of a dotted path: `userSaved.calling` → `{ userSaved: 'calling' }`. */
export function stateValueOf(path: string): StateValue {
  const [head, ...rest] = path.split('.');
  return rest.length === 0 ? (head as string) : { [head as string]: stateValueOf(rest.join('.')) };
}

/** The log's record of a snapshot: its status, state, progress record and (when there is one) timeline. */
export function moveOf(snapshot: AnyMachineSnapshot): SagaMove {
  const context = snapshot.context as SagaContext<unknown>;
  return {
    status: statusOf(snapshot),
    state: stateName(snapshot.value),
    progress: progressRecordOf(context),
    detail: detailOf(context),
  };
}

/**
 * A saga's snapshot rebuilt from its log record, in the state the record names. A snapshot is only
 * state and context: the step that was under way restarts when the actor is sent `RESUME` (every step
 * state re-enters itself on it), so no actor internals are kept in the log.
 */
export function snapshotOf(machine: AnyStateMachine, record: SagaRecord, retry: RetryPolicy): unknown {
  const context = contextFromRecord(record.gid, record.input, record.progress, record.detail, retry);
  const resolved = machine.resolveState({ value: stateValueOf(record.state), context });
  return machine.getPersistedSnapshot(resolved);
}

/**
 * Whether a move must reach the log before the saga goes on, when no branch transaction carries it. A
 * clean forward move can wait: a restart replays its step, which the barrier answers with `duplicate`;
 * and should the replay fail instead, the saga compensates every step that may have run, not only those
 * the log has seen (register-machine.ts), so a stale log costs a replay, never an effect left behind.
 * The every-fault-point chaos test is what allows this shortcut. Everything else is written at once: the
 * decision to compensate, the end, and any failure (attempt counts and backoff deadlines must survive a
 * restart).
 */
export function needsWriteNow(snapshot: AnyMachineSnapshot): boolean {
  if (statusOf(snapshot) !== 'pending') return true;
  const context = snapshot.context as SagaContext<unknown>;
  return context.lastError !== null || context.nextAttemptAt !== null;
}
