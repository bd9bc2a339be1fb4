import type { AnyMachineSnapshot, StateValue } from 'xstate';
import type { SagaProgress, SagaStatus } from '../../domain/saga.js';
import type { SagaContext } from '../saga-context.js';

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

/** The saga-log record of a snapshot; `persisted` is the same snapshot as XState persists it. */
export function progressOf(snapshot: AnyMachineSnapshot, persisted: unknown): SagaProgress {
  const context = snapshot.context as SagaContext<unknown>;
  const running = Object.values(context.steps).find(
    (step) => step.status === 'running' || step.status === 'waiting',
  );
  return {
    status: statusOf(snapshot),
    state: stateName(snapshot.value),
    snapshot: persisted,
    results: context.results,
    attempts: running?.attempts ?? 0,
    nextAttemptAt: context.nextAttemptAt === null ? null : new Date(context.nextAttemptAt),
    lastError: context.lastError,
    error: context.error,
  };
}

/**
 * Whether a move must reach the log before the saga goes on. Everything but a clean forward move does:
 * the decision to compensate, the end, and any failure (attempt counts and backoff deadlines must survive
 * a restart). A clean forward move can wait: a restart replays its step, which the barrier answers with
 * `duplicate`; and should the replay fail instead, the saga compensates every step that may have run,
 * not only those the log has seen (register-machine.ts), so a stale log costs a replay, never an effect
 * left behind. The every-fault-point chaos test is what allows this shortcut.
 */
export function needsWriteNow(snapshot: AnyMachineSnapshot): boolean {
  if (statusOf(snapshot) !== 'pending') return true;
  const context = snapshot.context as SagaContext<unknown>;
  return context.lastError !== null || context.nextAttemptAt !== null;
}
